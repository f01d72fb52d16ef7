/*
 * smp_monotonic READS: cross-CPU monotonicity of CLOCK_MONOTONIC (issue 12). One thread per CPU
 * the process may run on, each pinned to its CPU, reads the clock READS/threads times through the
 * vDSO (__vdso_clock_gettime: RDTSCP, trapped by the hypervisor; found through AT_SYSINFO_EHDR).
 * A shared atomic holds the largest value any thread has published. Each iteration:
 *   1. seen = shared (sequentially consistent load)
 *   2. now  = CLOCK_MONOTONIC
 *   3. raise shared to now with a compare-and-swap loop if now is larger
 * The publisher of `seen` finished its clock read before publishing it, and this thread loaded
 * `seen` before its own read began (the vDSO orders RDTSCP after earlier loads), so now < seen
 * is a clock that went backwards across CPUs: counted, with the worst difference. A thread's own
 * consecutive reads are checked too. `interleaved` counts reads where another CPU had published
 * a value newer than this thread's previous read: proof that the threads really ran at once.
 *
 * The main thread only supervises: it prints `progress reads=N` at every 5% (a long soak run
 * stays observable) and at the end
 *   threads=T reads=N backwards=B worst_back_ns=W own_backwards=O interleaved=I misplaced=M
 *   cpus=0,1,.. clock=vdso|syscall guest_ms=S
 * Exit 0 only with no backward step and every thread on its CPU throughout.
 * No libc (guest_harness.h): threads are raw clone(2)s on mmap'd stacks.
 */
#include "guest_harness.h"

#define SYS_nanosleep 35
#define SYS_clone 56
#define SYS_sched_setaffinity 203
#define SYS_sched_getaffinity 204
#define SYS_exit_group 231
#define SYS_getcpu 309
#define CLOCK_MONOTONIC 1
#define AT_SYSINFO_EHDR 33
#define PT_LOAD 1
#define PT_DYNAMIC 2
#define DT_NULL 0
#define DT_HASH 4
#define DT_STRTAB 5
#define DT_SYMTAB 6
/* clone(2): a thread sharing everything with its creator. */
#define THREAD_FLAGS (0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000)
#define MAX_THREADS 64
#define STACK_BYTES (64 * 1024)

struct kts {
	long sec, nsec;
};
struct elf_ehdr {
	u8 ident[16];
	u16 type, machine;
	u32 version;
	u64 entry, phoff, shoff;
	u32 flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf_phdr {
	u32 type, flags;
	u64 offset, vaddr, paddr, filesz, memsz, align;
};
struct elf_sym {
	u32 name;
	u8 info, other;
	u16 shndx;
	u64 value, size;
};

typedef long (*gettime_fn)(long clock, struct kts *ts);
static gettime_fn vdso_gettime;

static int same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* The vDSO's clock_gettime, as tools/testing/selftests/vDSO/parse_vdso.c finds it. */
static gettime_fn find_vdso_gettime(char **envp)
{
	while (*envp)
		envp++;
	u64 base = 0;
	for (u64 *aux = (u64 *)(envp + 1); aux[0]; aux += 2)
		if (aux[0] == AT_SYSINFO_EHDR)
			base = aux[1];
	if (!base)
		return 0;
	struct elf_ehdr *eh = (struct elf_ehdr *)base;
	u64 load = 0, dyn = 0;
	int have_load = 0;
	for (int i = 0; i < eh->phnum; i++) {
		struct elf_phdr *ph = (struct elf_phdr *)(base + eh->phoff + (u64)i * eh->phentsize);
		if (ph->type == PT_LOAD && !have_load) {
			load = base + ph->offset - ph->vaddr;
			have_load = 1;
		} else if (ph->type == PT_DYNAMIC) {
			dyn = base + ph->offset;
		}
	}
	if (!have_load || !dyn)
		return 0;
	const char *strtab = 0;
	struct elf_sym *symtab = 0;
	u32 *hash = 0;
	for (long *d = (long *)dyn; d[0] != DT_NULL; d += 2) {
		if (d[0] == DT_STRTAB)
			strtab = (const char *)(d[1] + load);
		else if (d[0] == DT_SYMTAB)
			symtab = (struct elf_sym *)(d[1] + load);
		else if (d[0] == DT_HASH)
			hash = (u32 *)(d[1] + load);
	}
	if (!strtab || !symtab)
		return 0;
	/* DT_HASH's nchain is the symbol count; without it the symbol table ends where the string table starts. */
	u64 count = hash ? hash[1] : (u64)((const char *)strtab - (const char *)symtab) / sizeof(struct elf_sym);
	for (u64 i = 0; i < count; i++)
		if (symtab[i].value && same(strtab + symtab[i].name, "__vdso_clock_gettime"))
			return (gettime_fn)(symtab[i].value + load);
	return 0;
}

static u64 monotonic_ns(void)
{
	struct kts ts;
	if (vdso_gettime)
		vdso_gettime(CLOCK_MONOTONIC, &ts);
	else
		sys(SYS_clock_gettime, CLOCK_MONOTONIC, &ts, 0);
	return (u64)ts.sec * 1000000000u + (u64)ts.nsec;
}

static int current_cpu(void)
{
	unsigned cpu = ~0u;
	sys(SYS_getcpu, &cpu, 0, 0);
	return (int)cpu;
}

static void sleep_ms(long ms)
{
	struct kts ts = { ms / 1000, (ms % 1000) * 1000000 };
	sys(SYS_nanosleep, &ts, 0, 0);
}

struct worker {
	int cpu, first_cpu, last_cpu, pinned;
	u64 backwards, own_backwards, interleaved, worst_back_ns;
};

static struct worker workers[MAX_THREADS];
static u64 shared_max, done_reads, finished, reads_per_thread;

static void run(void *arg)
{
	struct worker *w = arg;
	u64 mask = 1ull << w->cpu;
	w->pinned = sys(SYS_sched_setaffinity, 0, sizeof mask, &mask) == 0;
	w->first_cpu = current_cpu();
	u64 own_last = 0;
	for (u64 i = 0; i < reads_per_thread; i++) {
		u64 seen = __atomic_load_n(&shared_max, __ATOMIC_SEQ_CST);
		u64 now = monotonic_ns();
		if (now < seen) {
			w->backwards++;
			if (seen - now > w->worst_back_ns)
				w->worst_back_ns = seen - now;
		}
		if (now < own_last)
			w->own_backwards++;
		if (i > 0 && seen > own_last)
			w->interleaved++;
		own_last = now;
		u64 cur = seen;
		while (cur < now && !__atomic_compare_exchange_n(&shared_max, &cur, now, 1, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			;
		if ((i & 255) == 255)
			__atomic_fetch_add(&done_reads, 256, __ATOMIC_RELAXED);
	}
	w->last_cpu = current_cpu();
	__atomic_fetch_add(&finished, 1, __ATOMIC_SEQ_CST);
}

/* clone(2) onto a fresh stack; the child calls fn(arg) and exits (only its own thread). */
static long spawn(void (*fn)(void *), void *arg)
{
	u8 *stack = map(0, STACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	if (!stack)
		return -1;
	long r;
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0;
	register void (*r12)(void *) __asm__("r12") = fn;
	register void *r13 __asm__("r13") = arg;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "mov %%r13, %%rdi\n\t"
			 "call *%%r12\n\t"
			 "mov $60, %%eax\n\t"
			 "xor %%edi, %%edi\n\t"
			 "syscall\n"
			 "1:"
			 : "=a"(r)
			 : "a"(SYS_clone), "D"(THREAD_FLAGS), "S"(stack + STACK_BYTES), "d"(0), "r"(r10), "r"(r8), "r"(r12), "r"(r13)
			 : "rcx", "r11", "memory");
	return r;
}

static u64 parse_u64(const char *s)
{
	u64 v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (u64)(*s++ - '0');
	return v;
}

ENTRY(monotonic_main);
int monotonic_main(long argc, char **argv)
{
	if (argc < 2) {
		put("usage: smp_monotonic READS\n");
		sys(SYS_exit_group, 2, 0, 0);
	}
	u64 total = parse_u64(argv[1]);
	vdso_gettime = find_vdso_gettime(argv + argc + 1);
	u64 allowed = 0;
	if (sys(SYS_sched_getaffinity, 0, sizeof allowed, &allowed) < 0)
		sys(SYS_exit_group, 3, 0, 0);
	int threads = 0;
	for (int cpu = 0; cpu < 64 && threads < MAX_THREADS; cpu++)
		if (allowed & (1ull << cpu))
			workers[threads++].cpu = cpu;
	reads_per_thread = total / (u64)threads;
	u64 step = total / 20 ? total / 20 : 1, next = step;
	u64 t0 = monotonic_ns();
	for (int i = 0; i < threads; i++)
		if (spawn(run, &workers[i]) < 0) {
			put("clone failed\n");
			sys(SYS_exit_group, 3, 0, 0);
		}
	while (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) < (u64)threads) {
		sleep_ms(20);
		u64 done = __atomic_load_n(&done_reads, __ATOMIC_RELAXED);
		if (done >= next) {
			put("progress reads=");
			put_dec((long)done);
			put("\n");
			next = done - done % step + step;
		}
	}
	u64 backwards = 0, own_backwards = 0, interleaved = 0, worst = 0;
	int misplaced = 0;
	for (int i = 0; i < threads; i++) {
		struct worker *w = &workers[i];
		backwards += w->backwards;
		own_backwards += w->own_backwards;
		interleaved += w->interleaved;
		if (w->worst_back_ns > worst)
			worst = w->worst_back_ns;
		if (!w->pinned || w->first_cpu != w->cpu || w->last_cpu != w->cpu)
			misplaced++;
	}
	put("threads=");
	put_dec(threads);
	put(" reads=");
	put_dec((long)(reads_per_thread * (u64)threads));
	put(" backwards=");
	put_dec((long)backwards);
	put(" worst_back_ns=");
	put_dec((long)worst);
	put(" own_backwards=");
	put_dec((long)own_backwards);
	put(" interleaved=");
	put_dec((long)interleaved);
	put(" misplaced=");
	put_dec(misplaced);
	put(" cpus=");
	for (int i = 0; i < threads; i++) {
		if (i)
			put(",");
		put_dec(workers[i].cpu);
	}
	put(vdso_gettime ? " clock=vdso" : " clock=syscall");
	put(" guest_ms=");
	put_dec((long)((monotonic_ns() - t0) / 1000000));
	put("\n");
	sys(SYS_exit_group, backwards == 0 && own_backwards == 0 && misplaced == 0 ? 0 : 1, 0, 0);
	return 0;
}
