/* The processors from the ACPI MADT (hv-core/src/devices/madt.c), with tables built here. */
#include "madt.h"
#include "unit.h"

/* ---- table building ---- */

struct buf {
	uint8_t b[8192];
	size_t len;
};

static void put(struct buf *t, const void *p, size_t n)
{
	memcpy(t->b + t->len, p, n);
	t->len += n;
}
static void put8(struct buf *t, uint8_t v) { put(t, &v, 1); }
static void put16(struct buf *t, uint16_t v) { put(t, &v, 2); }
static void put32(struct buf *t, uint32_t v) { put(t, &v, 4); }
static void put64(struct buf *t, uint64_t v) { put(t, &v, 8); }

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* ACPI 6.5, 5.2.6: the 36-byte header; Length and Checksum are filled in by end_table. */
static void begin_table(struct buf *t, const char *signature, uint8_t revision)
{
	t->len = 0;
	put(t, signature, 4);
	put32(t, 0);
	put8(t, revision);
	put8(t, 0);
	put(t, "TSXHV ", 6);
	put(t, "TSXTABLE", 8);
	put32(t, 1);
	put(t, "TSXH", 4);
	put32(t, 1);
}

static void end_table(struct buf *t)
{
	uint32_t length = (uint32_t)t->len;
	memcpy(t->b + 4, &length, 4);
	t->b[9] = 0;
	t->b[9] = (uint8_t)-sum(t->b, t->len);
}

static void begin_madt(struct buf *t, uint32_t lapic_address)
{
	begin_table(t, "APIC", 5);
	put32(t, lapic_address);
	put32(t, 1); /* PCAT_COMPAT */
}

#define ENABLED 1u
#define ONLINE_CAPABLE 2u

static void lapic(struct buf *t, uint8_t id, uint32_t flags)
{
	put8(t, 0);
	put8(t, 8);
	put8(t, id); /* ACPI Processor UID */
	put8(t, id);
	put32(t, flags);
}

static void x2apic(struct buf *t, uint32_t id, uint32_t flags)
{
	put8(t, 9);
	put8(t, 16);
	put16(t, 0);
	put32(t, id);
	put32(t, flags);
	put32(t, id); /* ACPI Processor UID */
}

static void ioapic(struct buf *t)
{
	put8(t, 1);
	put8(t, 12);
	put8(t, 0);
	put8(t, 0);
	put32(t, 0xFEC00000);
	put32(t, 0);
}

static void lapic_override(struct buf *t, uint64_t address)
{
	put8(t, 5);
	put8(t, 12);
	put16(t, 0);
	put64(t, address);
}

/* ACPI 6.5, 5.2.5.3: a 36-byte RSDP with both checksums right. */
static void make_rsdp(uint8_t rsdp[36], uint8_t revision, uint32_t rsdt, uint64_t xsdt)
{
	memset(rsdp, 0, 36);
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "TSXHV ", 6);
	rsdp[15] = revision;
	memcpy(rsdp + 16, &rsdt, 4);
	uint32_t length = 36;
	memcpy(rsdp + 20, &length, 4);
	memcpy(rsdp + 24, &xsdt, 8);
	rsdp[8] = (uint8_t)-sum(rsdp, 20);
	rsdp[32] = (uint8_t)-sum(rsdp, 36);
}

/* ---- a fake physical memory ---- */

struct region {
	uint64_t phys;
	uint8_t *bytes;
	size_t len;
};

struct machine {
	struct region region[8];
	unsigned count;
	uint8_t *mapped; /* the last mapping: freed by the next call, so a use is caught */
	unsigned maps;
	uint8_t rsdp[36];
};

/* A fresh exact-size copy per call, and the previous one freed: ASan catches both a read
 * past `len` and a read through a mapping the parser should no longer hold. */
static const void *map(uint64_t phys, size_t len, void *ctx)
{
	struct machine *m = ctx;
	free(m->mapped);
	m->mapped = NULL;
	m->maps++;
	CHECK(len > 0 && len <= ACPI_TABLE_MAX_LENGTH);
	for (unsigned i = 0; i < m->count; i++) {
		struct region *r = &m->region[i];
		if (phys >= r->phys && phys - r->phys <= r->len && len <= r->len - (phys - r->phys)) {
			m->mapped = malloc(len);
			memcpy(m->mapped, r->bytes + (phys - r->phys), len);
			return m->mapped;
		}
	}
	return NULL;
}

static void set_region(struct machine *m, uint64_t phys, const struct buf *t)
{
	struct region *r = NULL;
	for (unsigned i = 0; i < m->count; i++)
		if (m->region[i].phys == phys)
			r = &m->region[i];
	if (!r) {
		r = &m->region[m->count++];
		r->phys = phys;
	} else {
		free(r->bytes);
	}
	r->bytes = malloc(t->len);
	memcpy(r->bytes, t->b, t->len);
	r->len = t->len;
}

static void free_machine(struct machine *m)
{
	for (unsigned i = 0; i < m->count; i++)
		free(m->region[i].bytes);
	free(m->mapped);
	memset(m, 0, sizeof(*m));
}

#define FACP_PHYS 0x7FE1000ull
#define MADT_PHYS 0x7FE2000ull
#define RSDT_MADT_PHYS 0x7FE3000ull
#define XSDT_PHYS 0x7FE4000ull
#define RSDT_PHYS 0x7FE5000ull
#define HIGH_MADT_PHYS 0x1234567000ull

static void root_table(struct buf *t, const char *signature, const uint64_t *entries, unsigned n)
{
	bool xsdt = !memcmp(signature, "XSDT", 4);
	begin_table(t, signature, 1);
	for (unsigned i = 0; i < n; i++) {
		if (xsdt)
			put64(t, entries[i]);
		else
			put32(t, (uint32_t)entries[i]);
	}
	end_table(t);
}

/* A machine whose XSDT lists a FACP and `madt`, and whose RSDT lists the FACP and another
 * MADT (one enabled CPU, APIC ID 7), so a test can tell which root was used. */
static void build_machine(struct machine *m, const struct buf *madt)
{
	memset(m, 0, sizeof(*m));
	struct buf t;
	begin_table(&t, "FACP", 6);
	put(&t, (const uint8_t[240]){ 0 }, 240);
	end_table(&t);
	set_region(m, FACP_PHYS, &t);
	set_region(m, MADT_PHYS, madt);
	begin_madt(&t, 0xFEE00000);
	lapic(&t, 7, ENABLED);
	end_table(&t);
	set_region(m, RSDT_MADT_PHYS, &t);
	root_table(&t, "XSDT", (const uint64_t[]){ FACP_PHYS, MADT_PHYS }, 2);
	set_region(m, XSDT_PHYS, &t);
	root_table(&t, "RSDT", (const uint64_t[]){ FACP_PHYS, RSDT_MADT_PHYS }, 2);
	set_region(m, RSDT_PHYS, &t);
	make_rsdp(m->rsdp, 2, (uint32_t)RSDT_PHYS, XSDT_PHYS);
}

/* Two enabled CPUs, an I/O APIC, an unusable entry and an online-capable CPU. */
static void standard_madt(struct buf *t)
{
	begin_madt(t, 0xFEE00000);
	lapic(t, 0, ENABLED);
	lapic(t, 1, ENABLED);
	ioapic(t);
	lapic(t, 2, 0);
	lapic(t, 3, ONLINE_CAPABLE);
	end_table(t);
}

static int find(struct machine *m, size_t rsdp_len, struct madt_cpus *out)
{
	memset(out, 0xAA, sizeof(*out));
	return madt_find_cpus(m->rsdp, rsdp_len, map, m, out);
}

/* madt_find_cpus on the standard machine with `madt` in it. */
static int find_with_madt(const struct buf *madt, struct madt_cpus *out)
{
	struct machine m;
	build_machine(&m, madt);
	int err = find(&m, 36, out);
	free_machine(&m);
	return err;
}

static void check_empty(const struct madt_cpus *out)
{
	CHECK_EQ_U64(out->count, 0);
	CHECK(!out->truncated);
	CHECK_EQ_U64(out->lapic_address, 0);
}

/* ---- tests ---- */

TEST(lists_enabled_and_online_capable_cpus_through_the_xsdt)
{
	struct buf madt;
	standard_madt(&madt);
	struct madt_cpus out;
	CHECK_EQ_I64(find_with_madt(&madt, &out), MADT_OK);
	CHECK_EQ_U64(out.count, 3);
	CHECK_EQ_U64(out.apic_id[0], 0);
	CHECK_EQ_U64(out.apic_id[1], 1);
	CHECK_EQ_U64(out.apic_id[2], 3);
	CHECK(out.enabled[0] && out.enabled[1] && !out.enabled[2]);
	CHECK_EQ_U64(out.lapic_address, 0xFEE00000);
	CHECK(!out.truncated);
}

TEST(an_acpi_1_rsdp_uses_the_rsdt)
{
	struct buf madt;
	standard_madt(&madt);
	struct machine m;
	build_machine(&m, &madt);
	struct madt_cpus out;
	/* Revision 2 but only the 20-byte ACPI 1.0 part copied: no XsdtAddress to trust. */
	CHECK_EQ_I64(find(&m, 20, &out), MADT_OK);
	CHECK_EQ_U64(out.count, 1);
	CHECK_EQ_U64(out.apic_id[0], 7);
	/* Revision 0 with 36 bytes: the XSDT fields are not there. */
	make_rsdp(m.rsdp, 0, (uint32_t)RSDT_PHYS, XSDT_PHYS);
	CHECK_EQ_I64(find(&m, 36, &out), MADT_OK);
	CHECK_EQ_U64(out.apic_id[0], 7);
	/* Revision 2 with a zero XsdtAddress. */
	make_rsdp(m.rsdp, 2, (uint32_t)RSDT_PHYS, 0);
	CHECK_EQ_I64(find(&m, 36, &out), MADT_OK);
	CHECK_EQ_U64(out.apic_id[0], 7);
	free_machine(&m);
}

TEST(an_invalid_xsdt_falls_back_to_the_rsdt)
{
	struct buf madt, t;
	standard_madt(&madt);
	struct machine m;
	build_machine(&m, &madt);
	struct madt_cpus out;
	root_table(&t, "XSDT", (const uint64_t[]){ FACP_PHYS, MADT_PHYS }, 2);
	t.b[40]++; /* checksum now wrong */
	set_region(&m, XSDT_PHYS, &t);
	CHECK_EQ_I64(find(&m, 36, &out), MADT_OK);
	CHECK_EQ_U64(out.apic_id[0], 7);
	/* No RSDT to fall back to. */
	make_rsdp(m.rsdp, 2, 0, XSDT_PHYS);
	CHECK_EQ_I64(find(&m, 36, &out), MADT_EBADROOT);
	check_empty(&out);
	/* An XSDT nowhere in memory, a wrong signature, a Length below the header. */
	make_rsdp(m.rsdp, 2, (uint32_t)RSDT_PHYS, 0xDEAD0000);
	CHECK_EQ_I64(find(&m, 36, &out), MADT_OK);
	CHECK_EQ_U64(out.apic_id[0], 7);
	make_rsdp(m.rsdp, 2, (uint32_t)RSDT_PHYS, XSDT_PHYS);
	root_table(&t, "RSDT", (const uint64_t[]){ MADT_PHYS }, 1); /* RSDT where the XSDT is */
	set_region(&m, XSDT_PHYS, &t);
	CHECK_EQ_I64(find(&m, 36, &out), MADT_OK);
	CHECK_EQ_U64(out.apic_id[0], 7);
	begin_table(&t, "XSDT", 1);
	end_table(&t);
	uint32_t short_length = 20;
	memcpy(t.b + 4, &short_length, 4);
	set_region(&m, XSDT_PHYS, &t);
	CHECK_EQ_I64(find(&m, 36, &out), MADT_OK);
	CHECK_EQ_U64(out.apic_id[0], 7);
	free_machine(&m);
}

TEST(a_broken_rsdp_is_rejected)
{
	struct buf madt;
	standard_madt(&madt);
	struct machine m;
	build_machine(&m, &madt);
	struct madt_cpus out;
	CHECK_EQ_I64(find(&m, 19, &out), MADT_EBADRSDP);
	check_empty(&out);
	CHECK_EQ_I64(madt_find_cpus(NULL, 36, map, &m, &out), MADT_EBADRSDP);
	m.rsdp[0] = 'X';
	CHECK_EQ_I64(find(&m, 36, &out), MADT_EBADRSDP);
	make_rsdp(m.rsdp, 2, (uint32_t)RSDT_PHYS, XSDT_PHYS);
	m.rsdp[8]++; /* Checksum */
	CHECK_EQ_I64(find(&m, 36, &out), MADT_EBADRSDP);
	make_rsdp(m.rsdp, 2, (uint32_t)RSDT_PHYS, XSDT_PHYS);
	m.rsdp[32]++; /* Extended Checksum */
	CHECK_EQ_I64(find(&m, 36, &out), MADT_EBADRSDP);
	/* ... which is not looked at when only the ACPI 1.0 part is given. */
	CHECK_EQ_I64(find(&m, 20, &out), MADT_OK);
	/* Neither root table address. */
	make_rsdp(m.rsdp, 2, 0, 0);
	CHECK_EQ_I64(find(&m, 36, &out), MADT_EBADROOT);
	free_machine(&m);
}

TEST(root_tables_without_a_usable_madt)
{
	struct buf madt, t;
	standard_madt(&madt);
	struct machine m;
	build_machine(&m, &madt);
	struct madt_cpus out;
	root_table(&t, "XSDT", (const uint64_t[]){ FACP_PHYS, 0 }, 2);
	set_region(&m, XSDT_PHYS, &t);
	CHECK_EQ_I64(find(&m, 36, &out), MADT_ENOMADT);
	check_empty(&out);
	root_table(&t, "XSDT", (const uint64_t[]){ FACP_PHYS, HIGH_MADT_PHYS }, 2);
	set_region(&m, XSDT_PHYS, &t);
	CHECK_EQ_I64(find(&m, 36, &out), MADT_EMAP);
	/* An address whose table would wrap past 2^64 is not handed to map. */
	root_table(&t, "XSDT", (const uint64_t[]){ UINT64_MAX - 8 }, 1);
	set_region(&m, XSDT_PHYS, &t);
	CHECK_EQ_I64(find(&m, 36, &out), MADT_EMAP);
	struct buf bad = madt;
	bad.b[50]++;
	set_region(&m, MADT_PHYS, &bad);
	root_table(&t, "XSDT", (const uint64_t[]){ MADT_PHYS }, 1);
	set_region(&m, XSDT_PHYS, &t);
	CHECK_EQ_I64(find(&m, 36, &out), MADT_EBADMADT);
	check_empty(&out);
	free_machine(&m);
}

TEST(the_first_valid_madt_is_used_past_broken_entries)
{
	struct buf madt, t, high;
	standard_madt(&madt);
	struct machine m;
	build_machine(&m, &madt);
	struct madt_cpus out;
	/* A broken MADT, an unmappable table, a null entry, then a good MADT above 4 GiB;
	 * and a trailing partial entry, which is ignored. */
	struct buf bad = madt;
	bad.b[9]++;
	set_region(&m, RSDT_MADT_PHYS, &bad);
	begin_madt(&high, 0xFEE00000);
	x2apic(&high, 0x100, ENABLED);
	end_table(&high);
	set_region(&m, HIGH_MADT_PHYS, &high);
	root_table(&t, "XSDT",
		   (const uint64_t[]){ RSDT_MADT_PHYS, 0xDEAD0000, 0, FACP_PHYS, HIGH_MADT_PHYS }, 5);
	put32(&t, 0x1000);
	end_table(&t);
	set_region(&m, XSDT_PHYS, &t);
	CHECK_EQ_I64(find(&m, 36, &out), MADT_OK);
	CHECK_EQ_U64(out.count, 1);
	CHECK_EQ_U64(out.apic_id[0], 0x100);
	free_machine(&m);
}

TEST(madt_length_and_checksum_are_checked)
{
	struct buf madt;
	struct madt_cpus out;
	standard_madt(&madt);
	CHECK_EQ_I64(madt_parse(madt.b, madt.len, &out), MADT_OK);
	/* Length past the bytes there are. */
	CHECK_EQ_I64(madt_parse(madt.b, madt.len - 1, &out), MADT_EBADMADT);
	check_empty(&out);
	CHECK_EQ_I64(madt_parse(madt.b, 10, &out), MADT_EBADMADT);
	/* Length below the MADT's fixed part, and absurdly large. */
	struct buf t;
	begin_table(&t, "APIC", 5);
	put32(&t, 0xFEE00000);
	end_table(&t);
	CHECK_EQ_I64(madt_parse(t.b, t.len, &out), MADT_EBADMADT);
	t = madt;
	uint32_t huge = ACPI_TABLE_MAX_LENGTH + 1;
	memcpy(t.b + 4, &huge, 4);
	CHECK_EQ_I64(find_with_madt(&t, &out), MADT_EBADMADT);
	/* Length beyond the memory that is there: the table cannot be mapped whole. */
	t = madt;
	uint32_t longer = (uint32_t)madt.len + 100;
	memcpy(t.b + 4, &longer, 4);
	CHECK_EQ_I64(find_with_madt(&t, &out), MADT_EMAP);
	/* Checksum, signature. */
	t = madt;
	t.b[madt.len - 1] ^= 1;
	CHECK_EQ_I64(madt_parse(t.b, t.len, &out), MADT_EBADMADT);
	CHECK_EQ_I64(find_with_madt(&t, &out), MADT_EBADMADT);
	t = madt;
	t.b[0] = 'B';
	CHECK_EQ_I64(madt_parse(t.b, t.len, &out), MADT_EBADMADT);
}

/* A MADT of the standard entries plus raw bytes after them, checksummed. */
static int parse_with_tail(const uint8_t *tail, size_t n, struct madt_cpus *out)
{
	struct buf t;
	begin_madt(&t, 0xFEE00000);
	lapic(&t, 0, ENABLED);
	put(&t, tail, n);
	end_table(&t);
	uint8_t *exact = malloc(t.len);
	memcpy(exact, t.b, t.len);
	int err = madt_parse(exact, t.len, out);
	free(exact);
	return err;
}

TEST(malformed_entries_are_errors_not_crashes)
{
	struct madt_cpus out;
	static const uint8_t zero_length[] = { 0, 0, 0, 0, 0, 0, 0, 0 };
	CHECK_EQ_I64(parse_with_tail(zero_length, sizeof(zero_length), &out), MADT_EBADENTRY);
	check_empty(&out);
	static const uint8_t length_one[] = { 1, 1, 0, 0 };
	CHECK_EQ_I64(parse_with_tail(length_one, sizeof(length_one), &out), MADT_EBADENTRY);
	static const uint8_t past_the_end[] = { 0, 8, 1, 1, 1, 0 };
	CHECK_EQ_I64(parse_with_tail(past_the_end, sizeof(past_the_end), &out), MADT_EBADENTRY);
	static const uint8_t unknown_past_the_end[] = { 0x7F, 200, 0, 0 };
	CHECK_EQ_I64(parse_with_tail(unknown_past_the_end, sizeof(unknown_past_the_end), &out),
		     MADT_EBADENTRY);
	static const uint8_t short_lapic[] = { 0, 6, 1, 1, 1, 0 };
	CHECK_EQ_I64(parse_with_tail(short_lapic, sizeof(short_lapic), &out), MADT_EBADENTRY);
	static const uint8_t short_x2apic[] = { 9, 12, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0 };
	CHECK_EQ_I64(parse_with_tail(short_x2apic, sizeof(short_x2apic), &out), MADT_EBADENTRY);
	static const uint8_t short_override[] = { 5, 10, 0, 0, 0, 0, 0, 0, 0, 0 };
	CHECK_EQ_I64(parse_with_tail(short_override, sizeof(short_override), &out), MADT_EBADENTRY);
	static const uint8_t lone_byte[] = { 0 };
	CHECK_EQ_I64(parse_with_tail(lone_byte, sizeof(lone_byte), &out), MADT_EBADENTRY);
	/* A longer structure than its type needs (a later ACPI revision) is fine. */
	static const uint8_t long_lapic[] = { 0, 10, 1, 1, 1, 0, 0, 0, 0xEE, 0xEE };
	CHECK_EQ_I64(parse_with_tail(long_lapic, sizeof(long_lapic), &out), MADT_OK);
	CHECK_EQ_U64(out.count, 2);
	CHECK_EQ_U64(out.apic_id[1], 1);
	/* Unknown types are skipped by their length. */
	static const uint8_t unknown[] = { 0x7F, 3, 0xFF, 0x0D, 2 };
	CHECK_EQ_I64(parse_with_tail(unknown, sizeof(unknown), &out), MADT_OK);
	CHECK_EQ_U64(out.count, 1);
}

TEST(x2apic_entries_and_the_ids_that_are_skipped)
{
	struct buf madt;
	begin_madt(&madt, 0xFEE00000);
	lapic(&madt, 0, ENABLED);
	lapic(&madt, 1, ENABLED);
	lapic(&madt, 0xFF, ENABLED);        /* the xAPIC broadcast ID */
	x2apic(&madt, 1, ENABLED);          /* duplicates the Local APIC entry: 5.2.12.12 */
	x2apic(&madt, 0xFFFFFFFF, ENABLED); /* the x2APIC broadcast ID */
	x2apic(&madt, 0x100, ENABLED);
	x2apic(&madt, 0x101, 0);            /* unusable */
	x2apic(&madt, 0x102, ONLINE_CAPABLE);
	x2apic(&madt, 5, ENABLED);          /* below 255, but no Local APIC entry has it */
	x2apic(&madt, 0xFFFFFFFE, ENABLED);
	end_table(&madt);
	struct madt_cpus out;
	CHECK_EQ_I64(find_with_madt(&madt, &out), MADT_OK);
	CHECK_EQ_U64(out.count, 6);
	static const uint32_t ids[] = { 0, 1, 0x100, 0x102, 5, 0xFFFFFFFE };
	static const bool enabled[] = { true, true, true, false, true, true };
	for (unsigned i = 0; i < 6; i++) {
		CHECK_EQ_U64(out.apic_id[i], ids[i]);
		CHECK_EQ_U64(out.enabled[i], enabled[i]);
	}
}

TEST(duplicate_ids_are_listed_once)
{
	struct buf madt;
	begin_madt(&madt, 0xFEE00000);
	x2apic(&madt, 2, ONLINE_CAPABLE); /* before its Local APIC entry */
	lapic(&madt, 0, ENABLED);
	lapic(&madt, 0, ENABLED);
	lapic(&madt, 2, ENABLED);
	lapic(&madt, 3, ENABLED);
	x2apic(&madt, 3, ONLINE_CAPABLE);
	end_table(&madt);
	struct madt_cpus out;
	CHECK_EQ_I64(find_with_madt(&madt, &out), MADT_OK);
	CHECK_EQ_U64(out.count, 3);
	CHECK_EQ_U64(out.apic_id[0], 2);
	CHECK(out.enabled[0]); /* enabled by either entry is enabled */
	CHECK_EQ_U64(out.apic_id[1], 0);
	CHECK_EQ_U64(out.apic_id[2], 3);
	CHECK(out.enabled[2]);
}

TEST(the_local_apic_address_override_wins)
{
	struct buf madt;
	begin_madt(&madt, 0xFEE00000);
	lapic(&madt, 0, ENABLED);
	lapic_override(&madt, 0x10FEE00000ull);
	end_table(&madt);
	struct madt_cpus out;
	CHECK_EQ_I64(find_with_madt(&madt, &out), MADT_OK);
	CHECK_EQ_U64(out.lapic_address, 0x10FEE00000ull);
	begin_madt(&madt, 0xFED00000);
	lapic(&madt, 0, ENABLED);
	end_table(&madt);
	CHECK_EQ_I64(find_with_madt(&madt, &out), MADT_OK);
	CHECK_EQ_U64(out.lapic_address, 0xFED00000);
}

TEST(more_than_256_cpus_are_truncated)
{
	struct buf madt;
	begin_madt(&madt, 0xFEE00000);
	for (uint32_t id = 0; id < 300; id++)
		x2apic(&madt, id * 2, ENABLED);
	x2apic(&madt, 0, ENABLED); /* a duplicate after the limit does not count as dropped */
	end_table(&madt);
	struct madt_cpus out;
	CHECK_EQ_I64(find_with_madt(&madt, &out), MADT_OK);
	CHECK_EQ_U64(out.count, MADT_MAX_CPUS);
	CHECK(out.truncated);
	CHECK_EQ_U64(out.apic_id[255], 510);
	begin_madt(&madt, 0xFEE00000);
	for (uint32_t id = 0; id < MADT_MAX_CPUS; id++)
		x2apic(&madt, id, ENABLED);
	x2apic(&madt, 0, ENABLED);
	end_table(&madt);
	CHECK_EQ_I64(find_with_madt(&madt, &out), MADT_OK);
	CHECK_EQ_U64(out.count, MADT_MAX_CPUS);
	CHECK(!out.truncated);
}

TEST(a_madt_without_an_enabled_cpu_is_an_error)
{
	struct buf madt;
	begin_madt(&madt, 0xFEE00000);
	lapic(&madt, 0, ONLINE_CAPABLE);
	lapic(&madt, 1, 0);
	ioapic(&madt);
	end_table(&madt);
	struct madt_cpus out;
	CHECK_EQ_I64(find_with_madt(&madt, &out), MADT_ENOCPU);
	check_empty(&out);
	begin_madt(&madt, 0xFEE00000);
	end_table(&madt);
	CHECK_EQ_I64(find_with_madt(&madt, &out), MADT_ENOCPU);
}

TEST(every_error_has_a_message)
{
	CHECK_STREQ(madt_strerror(MADT_OK), "ok");
	for (int err = MADT_ENOCPU; err < 0; err++) {
		const char *s = madt_strerror(err);
		CHECK(s && *s && strcmp(s, madt_strerror(-100)) != 0);
	}
	CHECK_STREQ(madt_strerror(-100), "unknown MADT error");
}

/* ---- randomized robustness (libFuzzer-style, deterministic) ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

static void check_result(int err, const struct madt_cpus *out)
{
	if (err != MADT_OK) {
		CHECK(err >= MADT_ENOCPU && err < 0);
		check_empty(out);
		return;
	}
	CHECK(out->count >= 1 && out->count <= MADT_MAX_CPUS);
	bool any_enabled = false;
	for (unsigned i = 0; i < out->count; i++) {
		any_enabled = any_enabled || out->enabled[i];
		CHECK(out->apic_id[i] != 0xFFFFFFFFu);
		for (unsigned j = 0; j < i; j++)
			CHECK(out->apic_id[i] != out->apic_id[j]);
	}
	CHECK(any_enabled);
}

/* Mutates the standard tables (bytes, lengths, addresses), usually re-fixing the checksums
 * so the mutation reaches the entry walk, and checks every outcome is a clean one. */
TEST(mutated_tables_never_crash)
{
	unsigned ok = 0, errors = 0;
	for (unsigned iter = 0; iter < 20000; iter++) {
		struct buf madt;
		begin_madt(&madt, 0xFEE00000);
		unsigned entries = rng() % 12;
		for (unsigned i = 0; i < entries; i++) {
			switch (rng() % 4) {
			case 0: lapic(&madt, (uint8_t)rng(), rng() % 4); break;
			case 1: x2apic(&madt, rng() % 4 ? rng() % 300 : rng(), rng() % 4); break;
			case 2: ioapic(&madt); break;
			default: lapic_override(&madt, rng()); break;
			}
		}
		end_table(&madt);
		unsigned flips = rng() % 4;
		for (unsigned i = 0; i < flips && madt.len; i++)
			madt.b[rng() % madt.len] = (uint8_t)rng();
		if (rng() % 4 == 0)
			madt.len = rng() % (madt.len + 1);
		if (rng() % 8 != 0 && madt.len >= 10) {
			madt.b[9] = 0;
			madt.b[9] = (uint8_t)-sum(madt.b, madt.len);
		}
		struct machine m;
		build_machine(&m, &madt);
		if (rng() % 4 == 0) {
			struct buf x;
			root_table(&x, "XSDT",
				   (const uint64_t[]){ rng() % 2 ? MADT_PHYS : rng(), MADT_PHYS }, 2);
			x.b[rng() % x.len] ^= (uint8_t)(1u << (rng() % 8));
			if (rng() % 2)
				end_table(&x);
			set_region(&m, XSDT_PHYS, &x);
		}
		if (rng() % 8 == 0)
			m.rsdp[rng() % 36] = (uint8_t)rng();
		struct madt_cpus out;
		int err = find(&m, rng() % 8 ? 36 : rng() % 37, &out);
		check_result(err, &out);
		if (err == MADT_OK)
			ok++;
		else
			errors++;
		free_machine(&m);
	}
	/* The mutations must exercise both outcomes, or the test proves little. */
	CHECK(ok > 1000);
	CHECK(errors > 1000);
}

RUN_TESTS(UNIT_CASE(lists_enabled_and_online_capable_cpus_through_the_xsdt),
	  UNIT_CASE(an_acpi_1_rsdp_uses_the_rsdt),
	  UNIT_CASE(an_invalid_xsdt_falls_back_to_the_rsdt),
	  UNIT_CASE(a_broken_rsdp_is_rejected),
	  UNIT_CASE(root_tables_without_a_usable_madt),
	  UNIT_CASE(the_first_valid_madt_is_used_past_broken_entries),
	  UNIT_CASE(madt_length_and_checksum_are_checked),
	  UNIT_CASE(malformed_entries_are_errors_not_crashes),
	  UNIT_CASE(x2apic_entries_and_the_ids_that_are_skipped),
	  UNIT_CASE(duplicate_ids_are_listed_once),
	  UNIT_CASE(the_local_apic_address_override_wins),
	  UNIT_CASE(more_than_256_cpus_are_truncated),
	  UNIT_CASE(a_madt_without_an_enabled_cpu_is_an_error),
	  UNIT_CASE(every_error_has_a_message),
	  UNIT_CASE(mutated_tables_never_crash))
