/*
 * Guest-side probe for test/e2e/hv/large-guest.test.ts (static, shipped through the agent).
 * `highmem_probe PRESSURE_MIB MIN_PHYS_GIB` touches PRESSURE_MIB of memory (so that the
 * kernel's later allocations - this process's page tables included - come from wherever is
 * left), then maps fresh executable pages until two virtually adjacent ones are both at or
 * above MIN_PHYS_GIB GiB physical (read from /proc/self/pagemap, root only), writes there an
 * RDTSC and a REX.W-prefixed RDTSC that straddles the two pages, and executes each 20,000
 * times checking that the counter never goes backwards. Under tsx-hv every one of those
 * RDTSCs is a VM exit whose instruction bytes the hypervisor must fetch through the guest's
 * page tables from that high physical page.
 * Prints: code_pa=0x... straddle_pa=0x... calls=N backwards=N pressure_mib=N
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096ul
#define CALLS 20000

static uint64_t phys_of(int pagemap, const void *va)
{
	uint64_t entry;
	if (pread(pagemap, &entry, 8, (off_t)((uintptr_t)va / PAGE * 8)) != 8)
		return 0;
	if (!(entry >> 63))
		return 0;
	return (entry & ((1ull << 55) - 1)) * PAGE;
}

typedef uint64_t (*tsc_fn)(void);

/* rdtsc; shl rdx, 32; or rax, rdx; ret */
static const uint8_t TAIL[] = { 0x48, 0xC1, 0xE2, 0x20, 0x48, 0x09, 0xD0, 0xC3 };

static long run(tsc_fn f)
{
	long backwards = 0;
	uint64_t last = f();
	for (int i = 0; i < CALLS; i++) {
		uint64_t now = f();
		if (now < last)
			backwards++;
		last = now;
	}
	return backwards;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: highmem_probe PRESSURE_MIB MIN_PHYS_GIB\n");
		return 2;
	}
	size_t pressure = strtoul(argv[1], 0, 10) << 20;
	uint64_t min_pa = strtoull(argv[2], 0, 10) << 30;
	int pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap < 0) {
		perror("pagemap");
		return 1;
	}
	if (pressure) {
		uint8_t *hog = mmap(0, pressure, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (hog == MAP_FAILED) {
			perror("pressure");
			return 1;
		}
		for (size_t i = 0; i < pressure; i += PAGE)
			hog[i] = 1;
	}
	uint8_t *code = 0;
	for (int tries = 0; tries < 200000 && !code; tries++) {
		uint8_t *p = mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			break;
		p[0] = 0x90;
		p[PAGE] = 0x90;
		if (phys_of(pagemap, p) >= min_pa && phys_of(pagemap, p + PAGE) >= min_pa)
			code = p; /* lower pages stay mapped: they are consumed */
	}
	if (!code) {
		fprintf(stderr, "no page at or above %llu GiB found\n", (unsigned long long)(min_pa >> 30));
		return 1;
	}
	/* At the start of the first page: 0F 31 + tail. Across the boundary: 48 0F | 31 + tail. */
	code[0] = 0x0F;
	code[1] = 0x31;
	memcpy(code + 2, TAIL, sizeof(TAIL));
	uint8_t *straddle = code + PAGE - 2;
	straddle[0] = 0x48;
	straddle[1] = 0x0F;
	straddle[2] = 0x31;
	memcpy(straddle + 3, TAIL, sizeof(TAIL));
	__builtin___clear_cache((char *)code, (char *)code + 2 * PAGE);
	long back = run((tsc_fn)(uintptr_t)code) + run((tsc_fn)(uintptr_t)straddle);
	printf("code_pa=0x%llx straddle_pa=0x%llx calls=%d backwards=%ld pressure_mib=%zu\n",
	       (unsigned long long)phys_of(pagemap, code), (unsigned long long)phys_of(pagemap, code + PAGE),
	       2 * (CALLS + 1), back, pressure >> 20);
	return back ? 1 : 0;
}
