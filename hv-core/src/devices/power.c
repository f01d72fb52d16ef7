/*
 * power.c - poweroff, reset or halt after a guest shutdown (triple fault) or a panic.
 *
 * Poweroff is the ACPI way: write SLP_TYPa(S5) | SLP_EN to PM1a_CNT (ACPI 6.4, 4.8.3.2.1 and
 * 7.4.2 "\_Sx System States"). PM1a_CNT_BLK comes from the FADT (5.2.9, offset 64) and
 * SLP_TYPa from the first element of the DSDT's \_S5 package, found by name. Reset uses the
 * PCI reset control register 0xCF9 and then the i8042 reset line.
 */
#include "power.h"
#include "hvlib.h"
#include "log.h"
#include "x86.h"

#define ACPI_SLP_EN (1u << 13)
#define ACPI_SLP_TYP_SHIFT 10
#define FADT_DSDT 40
#define FADT_PM1A_CNT_BLK 64
#define AML_PACKAGE_OP 0x12
#define AML_BYTE_PREFIX 0x0A
#define AML_ONE_OP 0x01
#define RESET_CONTROL_PORT 0xCF9
#define RESET_CONTROL_FULL 0x06
#define I8042_COMMAND_PORT 0x64
#define I8042_PULSE_RESET 0xFE

static enum shutdown_action action = SHUTDOWN_POWEROFF;
static uint16_t pm1a_cnt;
static uint16_t slp_typ_s5;
static bool acpi_ready;

void power_set_action(enum shutdown_action a)
{
	action = a;
}

const char *power_action_name(enum shutdown_action a)
{
	return a == SHUTDOWN_RESET ? "reset" : a == SHUTDOWN_HALT ? "halt" : "poweroff";
}

/* Tables live below 4 GiB in everything this hypervisor boots on (identity mapped). */
static const uint8_t *find_table(const uint8_t *rsdp, size_t len, const char sig[4])
{
	if (len < 20)
		return NULL;
	bool xsdt = len >= 36 && rsdp[15] >= 2 && *(const uint64_t *)(rsdp + 24) < (1ull << 32);
	const uint8_t *sdt = xsdt ? (const uint8_t *)(uintptr_t) * (const uint64_t *)(rsdp + 24)
				  : (const uint8_t *)(uintptr_t)load_le32(rsdp + 16);
	if (!sdt)
		return NULL;
	uint32_t sdt_len = load_le32(sdt + 4), entry = xsdt ? 8 : 4;
	for (uint32_t off = 36; off + entry <= sdt_len; off += entry) {
		uint64_t addr = xsdt ? *(const uint64_t *)(sdt + off) : load_le32(sdt + off);
		if (addr && addr < (1ull << 32) && !memcmp((const void *)(uintptr_t)addr, sig, 4))
			return (const uint8_t *)(uintptr_t)addr;
	}
	return NULL;
}

void power_init(const uint8_t *rsdp, size_t len)
{
	if (len < 20 || memcmp(rsdp, "RSD PTR ", 8))
		return;
	const uint8_t *fadt = find_table(rsdp, len, "FACP");
	if (!fadt)
		return;
	pm1a_cnt = (uint16_t)load_le32(fadt + FADT_PM1A_CNT_BLK);
	const uint8_t *dsdt = (const uint8_t *)(uintptr_t)load_le32(fadt + FADT_DSDT);
	if (!pm1a_cnt || !dsdt)
		return;
	uint32_t dlen = load_le32(dsdt + 4);
	for (uint32_t i = 36; i + 10 < dlen; i++) {
		if (memcmp(dsdt + i, "_S5_", 4) || dsdt[i + 4] != AML_PACKAGE_OP)
			continue;
		const uint8_t *p = dsdt + i + 5;
		p += 1 + (p[0] >> 6); /* PkgLength: lead byte bits 7:6 = extra bytes */
		p++;                  /* NumElements */
		slp_typ_s5 = *p == AML_BYTE_PREFIX ? p[1] : *p == AML_ONE_OP ? 1 : 0;
		acpi_ready = true;
		break;
	}
}

void power_shutdown_action(void)
{
	hv_log("machine %s", power_action_name(action));
	if (action == SHUTDOWN_POWEROFF && acpi_ready)
		outw(pm1a_cnt, (uint16_t)((slp_typ_s5 << ACPI_SLP_TYP_SHIFT) | ACPI_SLP_EN));
	if (action == SHUTDOWN_RESET) {
		outb(RESET_CONTROL_PORT, RESET_CONTROL_FULL);
		outb(I8042_COMMAND_PORT, I8042_PULSE_RESET);
	}
	if (action == SHUTDOWN_POWEROFF && !acpi_ready)
		hv_log("no ACPI sleep control found: halting instead");
	halt_forever();
	__builtin_unreachable();
}
