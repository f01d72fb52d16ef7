/*
 * madt.c - RSDP -> XSDT/RSDT -> MADT -> processors (see include/madt.h). Every table is
 * mapped first by its 36-byte header, then whole by the Length the header gives once that
 * Length is within bounds; nothing past a table's checked Length is read.
 */
#include "madt.h"
#include "hvlib.h"

/* ACPI 6.5, 5.2.5.3 "Root System Description Pointer (RSDP) Structure". */
#define RSDP_SIGNATURE "RSD PTR "
#define RSDP_SIGNATURE_LENGTH 8
#define RSDP_REVISION 15
#define RSDP_RSDT_ADDRESS 16
#define RSDP_XSDT_ADDRESS 24
#define RSDP_CHECKSUM_LENGTH 20  /* the ACPI 1.0 fields, covered by Checksum */
#define RSDP_XCHECKSUM_LENGTH 36 /* all fields, covered by Extended Checksum (ACPICA's name) */
#define RSDP_REVISION_XSDT 2     /* ACPI 2.0: Length, XsdtAddress, Extended Checksum */

/* 5.2.6 "System Description Table Header". */
#define SDT_SIGNATURE_LENGTH 4
#define SDT_LENGTH 4
#define SDT_HEADER_LENGTH 36

/* 5.2.7 RSDT and 5.2.8 XSDT: after the header, an array of table addresses. */
#define RSDT_SIGNATURE "RSDT"
#define RSDT_ENTRY_SIZE 4
#define XSDT_SIGNATURE "XSDT"
#define XSDT_ENTRY_SIZE 8

/* 5.2.12 "Multiple APIC Description Table (MADT)". */
#define MADT_SIGNATURE "APIC"
#define MADT_LOCAL_INTERRUPT_CONTROLLER_ADDRESS 36
#define MADT_HEADER_LENGTH 44 /* header, Local Interrupt Controller Address, Flags */

/* Interrupt Controller Structures: Type and Length bytes, then the type's fields. */
#define ICS_TYPE 0
#define ICS_LENGTH 1
#define ICS_HEADER_LENGTH 2

/* 5.2.12.2 "Processor Local APIC Structure". */
#define ICS_PROCESSOR_LOCAL_APIC 0
#define LOCAL_APIC_ID 3
#define LOCAL_APIC_FLAGS 4
#define LOCAL_APIC_LENGTH 8

/* 5.2.12.8 "Local APIC Address Override Structure". */
#define ICS_LOCAL_APIC_ADDRESS_OVERRIDE 5
#define LOCAL_APIC_OVERRIDE_ADDRESS 4
#define LOCAL_APIC_OVERRIDE_LENGTH 12

/* 5.2.12.12 "Processor Local x2APIC Structure". */
#define ICS_PROCESSOR_LOCAL_X2APIC 9
#define X2APIC_ID 4
#define X2APIC_FLAGS 8
#define X2APIC_LENGTH 16

/* 5.2.12.2 "Local APIC Flags" (shared by the x2APIC structure). Online Capable
 * came with ACPI 6.3; before, bit 1 was reserved and zero, so it is read without looking at
 * the MADT revision (which is no reliable guide: ACPI 6.2b tables say revision 45). */
#define LAPIC_FLAG_ENABLED (1u << 0)
#define LAPIC_FLAG_ONLINE_CAPABLE (1u << 1)

/* An xAPIC ID of 0xFF is the broadcast destination, never a processor (Linux ignores such
 * entries too); an x2APIC ID of 0xFFFFFFFF is the x2APIC broadcast. */
#define XAPIC_BROADCAST_ID 0xFFu
#define X2APIC_BROADCAST_ID 0xFFFFFFFFu

/* 5.2.6: all bytes of a table, checksum field included, sum to zero. */
static uint8_t byte_sum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum;
}

static bool valid_table(const uint8_t *t, size_t available, const char *signature,
			uint32_t min_length)
{
	if (available < SDT_HEADER_LENGTH || memcmp(t, signature, SDT_SIGNATURE_LENGTH))
		return false;
	uint32_t length = load_le32(t + SDT_LENGTH);
	return length >= min_length && length <= available && length <= ACPI_TABLE_MAX_LENGTH &&
	       byte_sum(t, length) == 0;
}

struct mapper {
	acpi_map_fn map;
	void *ctx;
};

static const uint8_t *map_range(const struct mapper *m, uint64_t phys, size_t len)
{
	if (phys > UINT64_MAX - len)
		return NULL;
	return m->map(phys, len, m->ctx);
}

enum table_lookup { TABLE_FOUND, TABLE_OTHER, TABLE_UNMAPPED, TABLE_INVALID };

/* Maps the table at `phys` whole if its header carries `signature` and a Length within
 * [min_length, ACPI_TABLE_MAX_LENGTH]; *table is then valid_table()-checked. */
static enum table_lookup map_table(const struct mapper *m, uint64_t phys, const char *signature,
				   uint32_t min_length, const uint8_t **table, uint32_t *length)
{
	const uint8_t *header = map_range(m, phys, SDT_HEADER_LENGTH);
	if (!header)
		return TABLE_UNMAPPED;
	if (memcmp(header, signature, SDT_SIGNATURE_LENGTH))
		return TABLE_OTHER;
	*length = load_le32(header + SDT_LENGTH);
	if (*length < min_length || *length > ACPI_TABLE_MAX_LENGTH)
		return TABLE_INVALID;
	*table = map_range(m, phys, *length);
	if (!*table)
		return TABLE_UNMAPPED;
	return valid_table(*table, *length, signature, min_length) ? TABLE_FOUND : TABLE_INVALID;
}

static void add_cpu(struct madt_cpus *out, uint32_t apic_id, uint32_t flags)
{
	bool enabled = flags & LAPIC_FLAG_ENABLED;
	if (!enabled && !(flags & LAPIC_FLAG_ONLINE_CAPABLE))
		return;
	/* One processor per APIC ID. This also drops the x2APIC structure firmware sometimes
	 * adds next to the Local APIC one for an ID below 255, which 5.2.12.12 forbids. */
	for (unsigned i = 0; i < out->count; i++) {
		if (out->apic_id[i] == apic_id) {
			out->enabled[i] = out->enabled[i] || enabled;
			return;
		}
	}
	if (out->count == MADT_MAX_CPUS) {
		out->truncated = true;
		return;
	}
	out->apic_id[out->count] = apic_id;
	out->enabled[out->count] = enabled;
	out->count++;
}

/* One Interrupt Controller Structure, `len` bytes (at least ICS_HEADER_LENGTH). */
static int parse_structure(const uint8_t *s, uint8_t len, struct madt_cpus *out)
{
	switch (s[ICS_TYPE]) {
	case ICS_PROCESSOR_LOCAL_APIC:
		if (len < LOCAL_APIC_LENGTH)
			return MADT_EBADENTRY;
		if (s[LOCAL_APIC_ID] != XAPIC_BROADCAST_ID)
			add_cpu(out, s[LOCAL_APIC_ID], load_le32(s + LOCAL_APIC_FLAGS));
		return MADT_OK;
	case ICS_PROCESSOR_LOCAL_X2APIC:
		if (len < X2APIC_LENGTH)
			return MADT_EBADENTRY;
		if (load_le32(s + X2APIC_ID) != X2APIC_BROADCAST_ID)
			add_cpu(out, load_le32(s + X2APIC_ID), load_le32(s + X2APIC_FLAGS));
		return MADT_OK;
	case ICS_LOCAL_APIC_ADDRESS_OVERRIDE:
		if (len < LOCAL_APIC_OVERRIDE_LENGTH)
			return MADT_EBADENTRY;
		/* Only one is allowed; with several, the last wins, as in Linux. */
		out->lapic_address = load_le64(s + LOCAL_APIC_OVERRIDE_ADDRESS);
		return MADT_OK;
	default:
		return MADT_OK; /* I/O APICs, interrupt source overrides, NMIs ...: not processors */
	}
}

/* The Interrupt Controller Structures after the MADT's fixed part. Each one's length is
 * checked against what is left of the table before it is used, and a length below 2 is an
 * error: zero would never advance. */
static int parse_structures(const uint8_t *madt, uint32_t length, struct madt_cpus *out)
{
	for (uint32_t off = MADT_HEADER_LENGTH; off < length;) {
		uint32_t left = length - off;
		if (left < ICS_HEADER_LENGTH)
			return MADT_EBADENTRY;
		uint8_t len = madt[off + ICS_LENGTH];
		if (len < ICS_HEADER_LENGTH || len > left)
			return MADT_EBADENTRY;
		int err = parse_structure(madt + off, len, out);
		if (err != MADT_OK)
			return err;
		off += len;
	}
	for (unsigned i = 0; i < out->count; i++) {
		if (out->enabled[i])
			return MADT_OK;
	}
	return MADT_ENOCPU;
}

int madt_parse(const uint8_t *madt, size_t available, struct madt_cpus *out)
{
	memset(out, 0, sizeof(*out));
	if (!valid_table(madt, available, MADT_SIGNATURE, MADT_HEADER_LENGTH))
		return MADT_EBADMADT;
	out->lapic_address = load_le32(madt + MADT_LOCAL_INTERRUPT_CONTROLLER_ADDRESS);
	int err = parse_structures(madt, load_le32(madt + SDT_LENGTH), out);
	if (err != MADT_OK)
		memset(out, 0, sizeof(*out));
	return err;
}

/* Walks the RSDT or XSDT at `root` for the first valid MADT. */
static int scan_root(const struct mapper *m, uint64_t root, bool xsdt, struct madt_cpus *out)
{
	const uint8_t *table;
	uint32_t length;
	if (map_table(m, root, xsdt ? XSDT_SIGNATURE : RSDT_SIGNATURE, SDT_HEADER_LENGTH, &table,
		      &length) != TABLE_FOUND)
		return MADT_EBADROOT;
	unsigned entry_size = xsdt ? XSDT_ENTRY_SIZE : RSDT_ENTRY_SIZE;
	uint32_t entries = (length - SDT_HEADER_LENGTH) / entry_size; /* a partial one is ignored */
	int err = MADT_ENOMADT;
	for (uint32_t i = 0; i < entries; i++) {
		/* Mapped again per entry: the MADT's mapping below may have replaced the root's. */
		const uint8_t *entry = map_range(m, root + SDT_HEADER_LENGTH + (uint64_t)i * entry_size,
						 entry_size);
		if (!entry)
			return MADT_EBADROOT;
		uint64_t phys = xsdt ? load_le64(entry) : load_le32(entry);
		if (!phys)
			continue;
		switch (map_table(m, phys, MADT_SIGNATURE, MADT_HEADER_LENGTH, &table, &length)) {
		case TABLE_FOUND:
			return madt_parse(table, length, out);
		case TABLE_OTHER:
			break;
		case TABLE_UNMAPPED:
			if (err == MADT_ENOMADT)
				err = MADT_EMAP;
			break;
		case TABLE_INVALID:
			err = MADT_EBADMADT;
			break;
		}
	}
	return err;
}

int madt_find_cpus(const uint8_t *rsdp, size_t rsdp_len, acpi_map_fn map, void *ctx,
		   struct madt_cpus *out)
{
	memset(out, 0, sizeof(*out));
	/* The checks ACPICA's acpi_tb_validate_rsdp makes: signature, the 1.0 checksum and, from
	 * revision 2, the extended checksum over all 36 bytes. */
	if (!rsdp || rsdp_len < RSDP_CHECKSUM_LENGTH ||
	    memcmp(rsdp, RSDP_SIGNATURE, RSDP_SIGNATURE_LENGTH) ||
	    byte_sum(rsdp, RSDP_CHECKSUM_LENGTH) != 0)
		return MADT_EBADRSDP;
	uint64_t xsdt = 0, rsdt = load_le32(rsdp + RSDP_RSDT_ADDRESS);
	if (rsdp[RSDP_REVISION] >= RSDP_REVISION_XSDT && rsdp_len >= RSDP_XCHECKSUM_LENGTH) {
		if (byte_sum(rsdp, RSDP_XCHECKSUM_LENGTH) != 0)
			return MADT_EBADRSDP;
		xsdt = load_le64(rsdp + RSDP_XSDT_ADDRESS);
	}
	const struct mapper m = { map, ctx };
	int err = MADT_EBADROOT;
	if (xsdt)
		err = scan_root(&m, xsdt, true, out);
	if (err == MADT_EBADROOT && rsdt)
		err = scan_root(&m, rsdt, false, out);
	if (err != MADT_OK)
		memset(out, 0, sizeof(*out));
	return err;
}

const char *madt_strerror(int err)
{
	switch (err) {
	case MADT_OK: return "ok";
	case MADT_EBADRSDP: return "the ACPI RSDP is too short or its signature or checksum is wrong";
	case MADT_EBADROOT: return "no valid ACPI root table (XSDT or RSDT)";
	case MADT_ENOMADT: return "the ACPI root table lists no MADT";
	case MADT_EMAP: return "an ACPI table the root table lists could not be mapped";
	case MADT_EBADMADT: return "the MADT's length or checksum is wrong";
	case MADT_EBADENTRY: return "a MADT interrupt controller structure is malformed";
	case MADT_ENOCPU: return "the MADT lists no enabled processor";
	default: return "unknown MADT error";
	}
}
