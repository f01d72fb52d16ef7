/*
 * guest_harness.h - shared by the static guest programs of the hostile-guest e2e tests
 * (hostile_battery.c, insn_fuzz.c). No libc: raw Linux x86-64 system calls, a tiny output
 * buffer, xorshift, and a register harness that runs generated machine code with every
 * general-purpose register and RFLAGS loaded from `hb_in`, and lands (through an absolute
 * jump placed right after the code) at `hb_landing`, which stores every register into `hb_out`
 * without touching any of them first.
 *
 * Outcomes are taken in a forked child: a fault becomes the child's terminating signal, seen
 * by the parent through wait4, exactly as a user program on bare metal would experience it.
 */
#pragma GCC diagnostic ignored "-Wunused-function"

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_mmap 9
#define SYS_mprotect 10
#define SYS_munmap 11
#define SYS_pread64 17
#define SYS_pwrite64 18
#define SYS_alarm 37
#define SYS_getpid 39
#define SYS_fork 57
#define SYS_exit 60
#define SYS_wait4 61
#define SYS_prctl 157
#define SYS_arch_prctl 158
#define SYS_iopl 172
#define SYS_ioperm 173
#define SYS_setgroups 116
#define SYS_setresuid 117
#define SYS_setresgid 119
#define SYS_getuid 102
#define SYS_clock_gettime 228

#define PROT_NONE 0
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_SHARED 1
#define MAP_PRIVATE 2
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define ARCH_SET_FS 0x1002
#define PR_SET_TSC 26
#define PR_TSC_SIGSEGV 2
#define PAGE 4096ul

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long r;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return r;
}
#define sys(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

void *memset(void *d, int c, unsigned long n);
void *memset(void *d, int c, unsigned long n)
{
	u8 *p = d;
	while (n--)
		*p++ = (u8)c;
	return d;
}
void *memcpy(void *d, const void *s, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n)
{
	u8 *p = d;
	const u8 *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

static void *map(void *at, u64 len, int prot, int flags)
{
	long r = sys6(SYS_mmap, (long)at, (long)len, prot, flags | MAP_ANONYMOUS, -1, 0);
	return r < 0 && r > -4096 ? 0 : (void *)r;
}

static __attribute__((noreturn)) void sys_exit(int code)
{
	for (;;)
		sys(SYS_exit, code, 0, 0);
}

/* ---- output: one buffer, flushed at newlines ---- */
static char outbuf[8192];
static u64 outlen;
static void flush(void)
{
	u64 done = 0;
	while (done < outlen) {
		long w = sys(SYS_write, 1, outbuf + done, outlen - done);
		if (w <= 0)
			break;
		done += (u64)w;
	}
	outlen = 0;
}
static void put(const char *s)
{
	while (*s) {
		if (outlen == sizeof(outbuf))
			flush();
		char ch = *s++;
		outbuf[outlen++] = ch;
		if (ch == '\n')
			flush();
	}
}
static void put_hex(u64 v)
{
	char b[19];
	int i = 18;
	b[i] = 0;
	do {
		b[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	put(b + i);
}
static void put_dec(long v)
{
	char b[24];
	int i = 23;
	u64 u = v < 0 ? (u64)-v : (u64)v;
	b[i] = 0;
	do {
		b[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		b[--i] = '-';
	put(b + i);
}

/* A string builder for results written into shared memory by children. */
struct sb {
	char *p;
	u64 len, cap;
};
static void sb_put(struct sb *s, const char *t)
{
	while (*t && s->len + 1 < s->cap)
		s->p[s->len++] = *t++;
	s->p[s->len] = 0;
}
static void sb_hex(struct sb *s, u64 v)
{
	char b[19];
	int i = 18;
	b[i] = 0;
	do {
		b[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	sb_put(s, b + i);
}
static void sb_dec(struct sb *s, long v)
{
	char b[24];
	int i = 23;
	u64 u = v < 0 ? (u64)-v : (u64)v;
	b[i] = 0;
	do {
		b[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		b[--i] = '-';
	sb_put(s, b + i);
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}
static u64 parse_num(const char *s)
{
	u64 v = 0;
	if (s[0] == '0' && s[1] == 'x') {
		for (s += 2; *s; s++)
			v = v * 16 + (u64)(*s <= '9' ? *s - '0' : (*s | 32) - 'a' + 10);
		return v;
	}
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (u64)(*s++ - '0');
	return v;
}

static u64 rng_state;
static u64 rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static inline u64 plain_rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}
static inline u64 plain_rdtscp_aux(void)
{
	u32 lo, hi, aux;
	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	return aux;
}
static u64 mono_ns(void)
{
	long ts[2];
	sys(SYS_clock_gettime, 1, ts, 0);
	return (u64)ts[0] * 1000000000ul + (u64)ts[1];
}

/* ---- the register harness ---- */
struct regs {
	u64 rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rflags, rsp;
};
static const char *const reg_names[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9",
					  "r10", "r11", "r12", "r13", "r14", "r15", "rflags", "rsp" };
#define NREGS 15 /* general-purpose registers in struct regs, RSP excluded */
_Static_assert(sizeof(struct regs) == 17 * 8, "the harness assembly uses fixed offsets");
struct regs hb_in, hb_out;
u64 hb_target, hb_saved_rsp;
void run_code(void *code);
void hb_landing(void);
__asm__(".text\n.globl run_code\nrun_code:\n"
	"push %rbx\npush %rbp\npush %r12\npush %r13\npush %r14\npush %r15\n"
	"mov %rdi, hb_target(%rip)\nmov %rsp, hb_saved_rsp(%rip)\n"
	"pushq hb_in+120(%rip)\npopfq\n"
	"mov hb_in+0(%rip), %rax\nmov hb_in+8(%rip), %rbx\nmov hb_in+16(%rip), %rcx\n"
	"mov hb_in+24(%rip), %rdx\nmov hb_in+32(%rip), %rsi\nmov hb_in+40(%rip), %rdi\n"
	"mov hb_in+48(%rip), %rbp\nmov hb_in+56(%rip), %r8\nmov hb_in+64(%rip), %r9\n"
	"mov hb_in+72(%rip), %r10\nmov hb_in+80(%rip), %r11\nmov hb_in+88(%rip), %r12\n"
	"mov hb_in+96(%rip), %r13\nmov hb_in+104(%rip), %r14\nmov hb_in+112(%rip), %r15\n"
	"jmp *hb_target(%rip)\n"
	".globl hb_landing\nhb_landing:\n"
	"mov %rax, hb_out+0(%rip)\nmov %rbx, hb_out+8(%rip)\nmov %rcx, hb_out+16(%rip)\n"
	"mov %rdx, hb_out+24(%rip)\nmov %rsi, hb_out+32(%rip)\nmov %rdi, hb_out+40(%rip)\n"
	"mov %rbp, hb_out+48(%rip)\nmov %r8, hb_out+56(%rip)\nmov %r9, hb_out+64(%rip)\n"
	"mov %r10, hb_out+72(%rip)\nmov %r11, hb_out+80(%rip)\nmov %r12, hb_out+88(%rip)\n"
	"mov %r13, hb_out+96(%rip)\nmov %r14, hb_out+104(%rip)\nmov %r15, hb_out+112(%rip)\n"
	"mov %rsp, hb_out+128(%rip)\npushfq\npopq hb_out+120(%rip)\ncld\n"
	"mov hb_saved_rsp(%rip), %rsp\n"
	"pop %r15\npop %r14\npop %r13\npop %r12\npop %rbp\npop %rbx\nret\n");

/* RFLAGS loaded into the code under test: IF (always 1 at CPL 3) plus CF PF AF ZF SF OF, so a
 * handler that clobbers the arithmetic flags is seen. */
#define FLAGS_IN 0x8D7ul
#define FLAGS_CHECKED 0xCD5ul /* CF PF AF ZF SF DF OF */
#define FLAG_DF 0x400ul

/* Distinct patterns with high bits set, so a 32-bit write (which zero-extends) is visible. */
static void fill_patterns(struct regs *r)
{
	u64 *v = &r->rax;
	for (int i = 0; i < NREGS; i++)
		v[i] = 0xA1B2C3D400000000ul + ((u64)(i + 1) << 48) + 0x01010101ul * (u64)(i + 1);
	r->rflags = FLAGS_IN;
}

/* Writes `bytes` at `at` followed by `jmp *0(%rip)` to hb_landing; returns the end. */
static u8 *emit_with_landing(u8 *at, const u8 *bytes, u64 n)
{
	memcpy(at, bytes, n);
	at += n;
	static const u8 jmp_abs[6] = { 0xFF, 0x25, 0, 0, 0, 0 };
	memcpy(at, jmp_abs, 6);
	u64 target = (u64)hb_landing;
	memcpy(at + 6, &target, 8);
	return at + 14;
}

/* With `tf`, `pushfq; orq $0x100, (%rsp); popfq` goes right before `at`: TF is then set at the
 * start of exactly the instruction at `at`, whose single-step #DB trap follows it (a POPF
 * that sets TF does not trap itself). Returns where to enter. */
#define SET_TF_LEN 10
static u8 *enter_at(u8 *at, int tf)
{
	static const u8 set_tf[SET_TF_LEN] = { 0x9C, 0x48, 0x81, 0x0C, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9D };
	if (!tf)
		return at;
	memcpy(at - SET_TF_LEN, set_tf, SET_TF_LEN);
	return at - SET_TF_LEN;
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case 4: return "SIGILL";
	case 5: return "SIGTRAP";
	case 7: return "SIGBUS";
	case 8: return "SIGFPE";
	case 9: return "SIGKILL";
	case 11: return "SIGSEGV";
	case 14: return "SIGALRM";
	default: return "SIG?";
	}
}

/* Which CPU a child runs on: children alternate between CPU 0 and 1 (when there is a CPU 1),
 * unless `hb_fixed_cpu` names one. A child stays on its CPU, so RDTSC/RDTSCP and TSC_AUX reads
 * within one case come from one CPU (each CPU has its own TSC and TSC_AUX). */
#define SYS_sched_setaffinity 203
static int hb_fixed_cpu = -1;
static unsigned hb_children;
static int pin_cpu(unsigned cpu)
{
	u64 mask = 1ul << cpu;
	return sys(SYS_sched_setaffinity, 0, sizeof(mask), &mask) == 0;
}

/* fork + wait4: returns the raw wait status; the child runs fn(arg) and exits 0. */
static int run_child(void (*fn)(void *), void *arg)
{
	unsigned cpu = hb_fixed_cpu >= 0 ? (unsigned)hb_fixed_cpu : hb_children % 2;
	hb_children++;
	long pid = sys(SYS_fork, 0, 0, 0);
	if (pid == 0) {
		if (!pin_cpu(cpu) && !pin_cpu(0))
			sys_exit(91);
		/* A guard against a hang, in guest seconds: at 60x an hour is one real minute,
		 * which a loaded host needs (120 s was 2 real seconds, and two fuzz children of
		 * 100,000 died of SIGALRM on a host with load average 6.6). */
		sys(SYS_alarm, 3600, 0, 0);
		fn(arg);
		sys_exit(0);
	}
	int status = 0;
	if (pid < 0)
		return -1;
	while (sys6(SYS_wait4, pid, (long)&status, 0, 0, 0, 0) < 0) {
	}
	return status;
}
#define WTERMSIG(s) ((s) & 0x7f)
#define WIFSIGNALED(s) (WTERMSIG(s) != 0 && WTERMSIG(s) != 0x7f)
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)

/* ---- faults: a handler records the signal, si_code, si_addr, RIP and registers ---- */
#define SYS_rt_sigaction 13
#define SA_SIGINFO 4
#define SA_RESTORER 0x04000000
struct ksigaction {
	void (*handler)(int, void *, void *);
	u64 flags;
	void (*restorer)(void);
	u64 mask;
};
struct fault {
	int sig, code;
	u64 addr, rip;
	struct regs regs;
};
struct fault hb_fault;
static void (*hb_on_fault)(void);
void hb_restorer(void);
__asm__(".text\nhb_restorer:\nmov $15, %eax\nsyscall\n");

/* Linux x86-64 ucontext: uc_flags, uc_link, uc_stack (24 bytes), then mcontext gregs in the
 * order r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags (asm/sigcontext.h). */
static void on_signal(int sig, void *info, void *uc)
{
	const u64 *g = (const u64 *)((const char *)uc + 40);
	struct regs *r = &hb_fault.regs;
	hb_fault.sig = sig;
	hb_fault.code = *(const int *)((const char *)info + 8);
	hb_fault.addr = *(const u64 *)((const char *)info + 16);
	hb_fault.rip = g[16];
	r->r8 = g[0], r->r9 = g[1], r->r10 = g[2], r->r11 = g[3], r->r12 = g[4], r->r13 = g[5];
	r->r14 = g[6], r->r15 = g[7], r->rdi = g[8], r->rsi = g[9], r->rbp = g[10], r->rbx = g[11];
	r->rdx = g[12], r->rax = g[13], r->rcx = g[14], r->rsp = g[15], r->rflags = g[17];
	if (hb_on_fault)
		hb_on_fault();
	sys_exit(0);
}

/* SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV go to on_signal, which calls `report` and exits. */
static void catch_faults(void (*report)(void))
{
	static const int sigs[] = { 4, 5, 7, 8, 11 };
	struct ksigaction act = { on_signal, SA_SIGINFO | SA_RESTORER, hb_restorer, 0 };
	hb_on_fault = report;
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sys6(SYS_rt_sigaction, sigs[i], (long)&act, 0, 8, 0, 0);
}

#define ENTRY(fn)                                                                                \
	int fn(long argc, char **argv);                                                          \
	__asm__(".globl _start\n_start:\n"                                                       \
		"mov (%rsp), %rdi\n lea 8(%rsp), %rsi\n and $-16, %rsp\n call " #fn "\n"        \
		"mov %eax, %edi\n mov $60, %eax\n syscall\n")
