/*
 * tsc_calibrate.c - measures the real TSC frequency once at boot against PIT channel 2
 * (1.193182 MHz; Intel 8254 datasheet, mode 0 with the gate on port 0x61 bit 0 and OUT2 on
 * bit 5). Used only for the hypervisor's own time-based work (grace period, poll interval,
 * rates in `status`), never for the guest's clock, which is vtime's ratio of real TSCs.
 */
#include "guest_time.h"
#include "log.h"
#include "x86.h"

#define PIT_HZ 1193182ull
#define PIT_CH2_DATA 0x42
#define PIT_COMMAND 0x43
#define PIT_CH2_MODE0_LOHI 0xB0
#define NMI_SC_PORT 0x61
#define NMI_SC_GATE2 0x01
#define NMI_SC_SPEAKER 0x02
#define NMI_SC_OUT2 0x20
#define CALIBRATION_MS 50ull
#define FALLBACK_HZ ((uint64_t)2000000000)

static uint64_t hz;

uint64_t tsc_hz(void)
{
	return hz;
}

void tsc_calibrate(void)
{
	uint16_t latch = (uint16_t)(PIT_HZ * CALIBRATION_MS / 1000);
	uint8_t saved = inb(NMI_SC_PORT);
	outb(NMI_SC_PORT, (uint8_t)((saved & ~NMI_SC_SPEAKER) | NMI_SC_GATE2));
	outb(PIT_COMMAND, PIT_CH2_MODE0_LOHI);
	outb(PIT_CH2_DATA, (uint8_t)latch);
	outb(PIT_CH2_DATA, (uint8_t)(latch >> 8));
	uint64_t start = rdtsc(), end = start;
	/* Bounded: a missing PIT must not hang boot (about 10 s at 1 GHz). */
	for (uint64_t spins = 0; spins < 100000000ull; spins++) {
		if (inb(NMI_SC_PORT) & NMI_SC_OUT2)
			break;
		end = rdtsc();
	}
	end = rdtsc();
	outb(NMI_SC_PORT, saved);
	hz = (end - start) * 1000 / CALIBRATION_MS;
	/* Below 1 MHz the PIT did not count (a TSC that slow exists only in emulators that
	 * count instructions, such as Bochs at its default ips, which still measure MHz). */
	if (hz < 1000000ull) {
		hv_log("TSC calibration against the PIT failed; assuming %lu Hz", FALLBACK_HZ);
		hz = FALLBACK_HZ;
	}
	hv_log("TSC %lu kHz (PIT calibration)", hz / 1000);
}
