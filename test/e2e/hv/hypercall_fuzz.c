/*
 * Guest-side hypercall fuzzer for test/e2e/hv/control.test.ts (built static, no libc, and
 * shipped into the guest through the agent). Hypercall ABI v2 (docs/hypercall.md):
 *
 *   hcfuzz port SEED N   as root: ioperm(0xE4, 4, 1), then N `outl %eax, $0xe4` with
 *                        RAX = "TSXH" | random function (mostly 0..7, sometimes any 32-bit
 *                        value) and random RBX/RCX/RDX; one in eight carries no magic and must
 *                        come back with RAX untouched. Prints how many returned 0, -1, -2, -3,
 *                        something else, and how many magic-less OUTs left RAX untouched.
 *   hcfuzz ud SEED       one VMMCALL whose RAX lacks the magic: #UD (SIGILL).
 *   hcfuzz udmagic SEED  one VMMCALL from user mode WITH the magic (SET_SPEED 7/1): #UD
 *                        (SIGILL) too, nothing changes — VMMCALL is a hypercall at CPL 0 only.
 */
typedef unsigned long u64;

static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}

static u64 state;
static u64 next(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

static u64 parse(const char *s)
{
	u64 v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (u64)(*s++ - '0');
	return v;
}

static void print_num(u64 v)
{
	char b[24];
	int i = 23;
	b[i] = ' ';
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sys3(1, 1, (long)(b + i), 24 - i);
}

static u64 vmmcall(u64 rax, u64 rbx, u64 rcx, u64 rdx)
{
	__asm__ volatile("vmmcall" : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx) : : "memory");
	return rax;
}

static u64 port_call(u64 rax, u64 rbx, u64 rcx, u64 rdx)
{
	__asm__ volatile("outl %%eax, $0xe4" : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx) : : "memory");
	return rax;
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

int fuzz_main(long argc, char **argv);
int fuzz_main(long argc, char **argv)
{
	if (argc < 3)
		return 2;
	state = parse(argv[2]) * 2654435761u + 1;
	if (streq(argv[1], "ud")) {
		u64 rax = next() & 0x00000000FFFFFFFFul; /* high half is never "TSXH" */
		vmmcall(rax, next(), next(), next());
		return 3; /* not reached: #UD kills us with SIGILL */
	}
	if (streq(argv[1], "udmagic")) {
		vmmcall(0x5453584800000002ul, 7, 1, next()); /* SET_SPEED 7/1 */
		return 3; /* not reached */
	}
	if (!streq(argv[1], "port"))
		return 2;
	if (sys3(173, 0xE4, 4, 1) != 0) /* ioperm: root only */
		return 4;
	u64 n = argc > 3 ? parse(argv[3]) : 1000, counts[6] = { 0, 0, 0, 0, 0, 0 };
	for (u64 i = 0; i < n; i++) {
		u64 fn = (next() & 3) ? next() % 8 : next() & 0xFFFFFFFFul;
		u64 rbx = (next() & 1) ? next() % 20000 : next();
		u64 rcx = (next() & 1) ? next() % 2000 : next();
		if ((next() & 7) == 0) {
			u64 rax = next() & 0x00000000FFFFFFFFul; /* no magic: an empty port */
			counts[5] += port_call(rax, rbx, rcx, next()) == rax;
			continue;
		}
		long r = (long)port_call(0x5453584800000000ul | fn, rbx, rcx, next());
		counts[r == 0 ? 0 : r == -1 ? 1 : r == -2 ? 2 : r == -3 ? 3 : 4]++;
	}
	for (int i = 0; i < 6; i++)
		print_num(counts[i]);
	sys3(1, 1, (long)"\n", 1);
	return 0;
}

__asm__(".globl _start\n_start:\n"
	"mov (%rsp), %rdi\n lea 8(%rsp), %rsi\n and $-16, %rsp\n call fuzz_main\n"
	"mov %eax, %edi\n mov $60, %eax\n syscall\n");
