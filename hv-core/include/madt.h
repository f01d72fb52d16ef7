/*
 * madt.h - the machine's processors, from the ACPI Multiple APIC Description Table: the RSDP
 * leads to the XSDT (or the RSDT), which lists the MADT, whose Processor Local APIC and
 * Processor Local x2APIC structures name every processor and its APIC ID. The hypervisor
 * starts itself on each of them. ACPI 6.5: 5.2.5 RSDP, 5.2.6 table header, 5.2.7 RSDT,
 * 5.2.8 XSDT, 5.2.12 MADT.
 *
 * Pure: tables are reached only through a map function the caller supplies, and each is
 * checked (signature, Length, Checksum) before anything in it is used, so a broken or hostile
 * firmware table gives an error code, never a read out of bounds. Host unit-tested.
 */
#ifndef TSX_HV_MADT_H
#define TSX_HV_MADT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MADT_MAX_CPUS 256u

/* Longest table this parser maps: a guard against a corrupt Length asking the caller to map
 * gigabytes. A MADT with 4096 x2APIC structures is 64 KiB. */
#define ACPI_TABLE_MAX_LENGTH (1u << 20)

/*
 * The processors the MADT lists, in table order (firmware lists the boot processor first,
 * ACPI 6.5, 5.2.12.1), each APIC ID once (enabled if any of its structures says so).
 *
 * enabled[i] tells the two kinds of listed processor apart (Local APIC Flags, 5.2.12.2):
 *  - true: Enabled, the processor is present and ready for use;
 *  - false: Online Capable, the processor may be enabled while the OS runs (hot-added).
 * Online Capable processors are listed because the hypervisor must be under every CPU the
 * guest can ever run on: one the guest hot-adds later would otherwise run it natively, with
 * the real TSC. They may be absent at boot, so a start-up that waits for each processor to
 * answer should wait only for the enabled ones. Entries with neither flag are unusable and
 * skipped ("OSPM shall ignore the contents").
 */
struct madt_cpus {
	unsigned count;
	uint32_t apic_id[MADT_MAX_CPUS];
	bool enabled[MADT_MAX_CPUS];
	/* The MADT's Local Interrupt Controller Address, or the Local APIC Address Override
	 * (5.2.12.8) when there is one. */
	uint64_t lapic_address;
	bool truncated; /* more than MADT_MAX_CPUS processors: the rest are not listed */
};

enum madt_err {
	MADT_OK = 0,
	MADT_EBADRSDP = -1,  /* RSDP too short, wrong signature or a checksum that fails */
	MADT_EBADROOT = -2,  /* neither the XSDT nor the RSDT can be mapped and is valid */
	MADT_ENOMADT = -3,   /* the root table lists no MADT ("APIC") */
	MADT_EMAP = -4,      /* no valid MADT, and a table the root lists could not be mapped */
	MADT_EBADMADT = -5,  /* the MADT's Length is out of bounds or its checksum fails */
	MADT_EBADENTRY = -6, /* an interrupt controller structure is shorter than its type
				needs, has a length below 2 or runs past the table's end */
	MADT_ENOCPU = -7,    /* the MADT lists no enabled processor */
};

/*
 * Returns a pointer through which `len` bytes of physical memory from `phys` can be read, or
 * NULL. The pointer needs to stay valid only until the next call: the parser never holds two
 * mappings. Whole tables are mapped (at most ACPI_TABLE_MAX_LENGTH bytes), so the range may
 * cross pages.
 */
typedef const void *(*acpi_map_fn)(uint64_t phys, size_t len, void *ctx);

/*
 * Finds the MADT from a copy of the RSDP (rsdp_len bytes: 20 for an ACPI 1.0 RSDP, 36 from
 * ACPI 2.0) and lists its processors into *out. The XSDT is used when the RSDP has revision 2
 * or more, all 36 bytes and a nonzero XsdtAddress; the RSDT when it does not, or when the
 * XSDT is unmappable or invalid (ACPICA falls back the same way). The first valid MADT the
 * root table lists is used. Returns MADT_OK or a negative enum madt_err; on an error *out
 * lists no processor.
 */
int madt_find_cpus(const uint8_t *rsdp, size_t rsdp_len, acpi_map_fn map, void *ctx,
		   struct madt_cpus *out);

/* The same for a MADT already in memory: `available` readable bytes at `madt`, of which the
 * table's own Length counts. Signature, Length and checksum are checked here too. */
int madt_parse(const uint8_t *madt, size_t available, struct madt_cpus *out);

const char *madt_strerror(int err);

#endif
