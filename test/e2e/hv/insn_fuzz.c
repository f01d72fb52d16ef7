/*
 * insn_fuzz.c - guest-side instruction fuzzer for test/e2e/hv/insn_fuzz.test.ts (static, no
 * libc). Sequence i of seed S is a pure function of (S, i): 0..14 random prefix bytes from
 * {66 67 F2 F3 F0 2E 36 3E 26 64 65 40..4F} followed by RDTSC (0F 31) or RDTSCP (0F 01 F9), or
 * now and then a neighbouring opcode (VMMCALL 0F 01 D9, SWAPGS 0F 01 F8, MONITORX 0F 01 FA,
 * MWAITX 0F 01 FB, WRMSR 0F 30, RDMSR 0F 32, RDPMC 0F 33), placed at a random distance from
 * a page boundary so that about half straddle it (both pages mapped and executable), followed
 * by an absolute jump to a landing pad. Each sequence runs at CPL 3 in its own forked child.
 *
 *   insn_fuzz run SEED N FILE          one outcome byte per sequence into FILE; prints a digest
 *                                      per 1000 sequences and the outcome counts
 *   insn_fuzz compare SEED N BASE HV   HV against the hardware outcome derived from BASE (the
 *                                      baseline run): identical, except where the rule below
 *                                      says real hardware differs from QEMU TCG
 *   insn_fuzz show SEED I...           the bytes and placement of sequences I...
 *
 * Outcome byte: (class << 5) | signal, see the OUT_* classes.
 */
#include "guest_harness.h"

#define RWX (PROT_READ | PROT_WRITE | PROT_EXEC)
#define MAX_PREFIXES 14
#define BLOCK 1000

enum {
	OUT_FAULT_AT_INSN = 0,  /* signal with RIP at the instruction, registers unchanged (#UD, #GP) */
	OUT_PAGE_FAULT = 1,     /* SIGSEGV from a #PF at the instruction */
	OUT_FAULT_ELSEWHERE = 2,/* signal with RIP elsewhere or registers changed */
	OUT_TSC = 3,            /* RDTSC completed with a plausible value, everything else unchanged */
	OUT_TSCP = 4,           /* RDTSCP likewise, RCX = TSC_AUX */
	OUT_BAD = 5,            /* completed, but a check failed: low bits say which */
	OUT_KILLED = 6,         /* died by a signal the handler could not catch */
	OUT_OTHER = 7,          /* anything else (fork failed, odd exit) */
};
#define CODE(cls, low) ((u8)((cls) << 5 | ((low) & 31)))
#define SIGILL_CODE CODE(OUT_FAULT_AT_INSN, 4)

static const u8 prefix_set[] = { 0x66, 0x67, 0xF2, 0xF3, 0xF0, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65,
				 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A,
				 0x4B, 0x4C, 0x4D, 0x4E, 0x4F };

enum op { OP_RDTSC, OP_RDTSCP, OP_NEIGHBOUR };
struct seq {
	u8 bytes[24];
	u64 len, nprefix;
	int op;
	int lock;   /* an F0 among the prefixes */
	int split;  /* bytes on the first page, 0 = not straddling */
	u64 offset; /* in-page offset when not straddling */
};

static void make_seq(u64 seed, u64 index, struct seq *s)
{
	static const u8 neighbours[][3] = { { 0x0F, 0x01, 0xD9 }, { 0x0F, 0x01, 0xF8 }, { 0x0F, 0x01, 0xFA }, { 0x0F, 0x01, 0xFB },
					    { 0x0F, 0x30, 0 },    { 0x0F, 0x32, 0 },    { 0x0F, 0x33, 0 } };
	rng_state = (seed * 0x9E3779B97F4A7C15ul) ^ (index * 0xC2B2AE3D27D4EB4Ful) ^ 0x5DEECE66Dul;
	for (int k = 0; k < 4; k++)
		rng();
	memset(s, 0, sizeof(*s));
	s->nprefix = rng() % (MAX_PREFIXES + 1);
	for (u64 k = 0; k < s->nprefix; k++) {
		u8 p = prefix_set[rng() % sizeof(prefix_set)];
		s->lock |= p == 0xF0;
		s->bytes[s->len++] = p;
	}
	u64 pick = rng() % 20;
	if (pick < 9) {
		s->op = OP_RDTSC;
		s->bytes[s->len++] = 0x0F;
		s->bytes[s->len++] = 0x31;
	} else if (pick < 18) {
		s->op = OP_RDTSCP;
		s->bytes[s->len++] = 0x0F;
		s->bytes[s->len++] = 0x01;
		s->bytes[s->len++] = 0xF9;
	} else {
		s->op = OP_NEIGHBOUR;
		const u8 *n = neighbours[rng() % 7];
		s->bytes[s->len++] = n[0];
		s->bytes[s->len++] = n[1];
		if (n[2])
			s->bytes[s->len++] = n[2];
	}
	if (rng() & 1)
		s->split = 1 + (int)(rng() % (s->len - 1));
	else
		s->offset = 64 + rng() % (PAGE - 128 - s->len);
}

/* ---- one sequence in a child ---- */

static struct seq cur;
static u8 *region, *code_at;
static u8 *shared_out;

static int regs_same(const struct regs *o, int skip_results)
{
	const u64 *a = &o->rax, *b = &hb_in.rax;
	for (int r = 0; r < NREGS; r++) {
		if (skip_results && (r == 0 || r == 2 || r == 3))
			continue;
		if (a[r] != b[r])
			return 0;
	}
	return 1;
}

static void fuzz_fault(void)
{
	int at = hb_fault.rip == (u64)code_at && regs_same(&hb_fault.regs, 0);
	int pf = hb_fault.sig == 11 && (hb_fault.code == 1 || hb_fault.code == 2);
	*shared_out = CODE(!at ? OUT_FAULT_ELSEWHERE : pf ? OUT_PAGE_FAULT : OUT_FAULT_AT_INSN, hb_fault.sig);
}

static void fuzz_child(void *unused)
{
	(void)unused;
	catch_faults(fuzz_fault);
	u64 aux = plain_rdtscp_aux();
	fill_patterns(&hb_in);
	u64 ref1 = plain_rdtsc();
	run_code(code_at);
	u64 ref2 = plain_rdtsc();
	u64 v = (hb_out.rdx << 32) | (u32)hb_out.rax;
	int bad = 0;
	if ((hb_out.rax >> 32) || (hb_out.rdx >> 32))
		bad |= 1;
	if (v == 0 || v < ref1 || v > ref2)
		bad |= 2;
	if (cur.op == OP_RDTSCP ? hb_out.rcx != aux : hb_out.rcx != hb_in.rcx)
		bad |= 4;
	if (!regs_same(&hb_out, 1) || ((hb_out.rflags ^ hb_in.rflags) & FLAGS_CHECKED) || hb_out.rsp != hb_saved_rsp)
		bad |= 8;
	if (cur.op == OP_NEIGHBOUR)
		*shared_out = CODE(OUT_BAD, 16 | bad); /* none of the neighbours completes at CPL 3 */
	else
		*shared_out = bad ? CODE(OUT_BAD, bad) : CODE(cur.op == OP_RDTSCP ? OUT_TSCP : OUT_TSC, 0);
}

static u8 run_one(u64 seed, u64 index)
{
	make_seq(seed, index, &cur);
	/* Clean both pages (an earlier, longer sequence must not leave bytes behind). */
	memset(region, 0xCC, 2 * PAGE);
	code_at = cur.split ? region + PAGE - cur.split : region + cur.offset;
	emit_with_landing(code_at, cur.bytes, cur.len);
	*shared_out = CODE(OUT_OTHER, 0);
	int st = run_child(fuzz_child, 0);
	if (st < 0)
		return CODE(OUT_OTHER, 1);
	if (WIFSIGNALED(st))
		return CODE(OUT_KILLED, WTERMSIG(st));
	if (WEXITSTATUS(st) != 0)
		return CODE(OUT_OTHER, 2);
	return *shared_out;
}

static int has_prefix(const struct seq *s, u8 prefix)
{
	for (u64 k = 0; k < s->nprefix; k++)
		if (s->bytes[k] == prefix)
			return 1;
	return 0;
}

/*
 * The hardware outcome, given QEMU TCG's (the baseline's) outcome for the same bytes.
 * QEMU 7.2 TCG executes RDTSC/RDTSCP with a LOCK prefix; real CPUs raise #UD for LOCK on any
 * instruction that is not a locked memory read-modify-write (Intel SDM vol. 2, LOCK: "#UD if
 * the LOCK prefix is used with an instruction not listed"; AMD APM vol. 3, 1.2.5), and the
 * host CPU of this machine does (SIGILL). A sequence longer than 15 bytes is #GP before that
 * (the instruction is never decoded; QEMU agrees), so only sequences of 15 bytes or less change.
 */
static u8 hardware_outcome(const struct seq *s, u8 baseline)
{
	if (s->lock && s->len <= 15 && s->op != OP_NEIGHBOUR)
		return SIGILL_CODE;
	/* An operand-size prefix does not change RDTSCP: RCX = IA32_TSC_AUX (SDM vol. 2B, RDTSCP;
	 * this machine's CPU agrees). QEMU 10.0 TCG leaves another value in RCX when a 66 is
	 * among the prefixes (bad:4, "RCX is not TSC_AUX"; QEMU 7.2 did not). */
	if (s->op == OP_RDTSCP && s->len <= 15 && has_prefix(s, 0x66) && baseline == CODE(OUT_BAD, 4))
		return CODE(OUT_TSCP, 0);
	return baseline;
}

static u64 fnv(u64 h, u8 b)
{
	return (h ^ b) * 0x100000001B3ul;
}

static void describe(u8 c)
{
	static const char *const cls[] = { "fault-at-insn", "page-fault", "fault-elsewhere", "tsc", "tscp", "bad", "killed", "other" };
	put(cls[c >> 5]);
	if ((c >> 5) <= OUT_FAULT_ELSEWHERE || (c >> 5) == OUT_KILLED) {
		put(":");
		put(signal_name(c & 31));
	} else if ((c >> 5) == OUT_BAD || (c >> 5) == OUT_OTHER) {
		put(":");
		put_hex(c & 31);
	}
}

static void show(u64 seed, u64 i)
{
	struct seq s;
	make_seq(seed, i, &s);
	put("#");
	put_dec((long)i);
	put(" bytes");
	for (u64 k = 0; k < s.len; k++) {
		put(" ");
		if (s.bytes[k] < 16)
			put("0");
		put_hex(s.bytes[k]);
	}
	put(" len=");
	put_dec((long)s.len);
	if (s.split) {
		put(" split=");
		put_dec(s.split);
		put("|");
		put_dec((long)s.len - s.split);
	} else {
		put(" in-page");
	}
}

static long read_file(const char *path, u8 *buf, u64 n)
{
	long fd = sys(SYS_open, path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	u64 got = 0;
	while (got < n) {
		long r = sys(SYS_read, fd, buf + got, n - got);
		if (r <= 0)
			break;
		got += (u64)r;
	}
	sys(SYS_close, fd, 0, 0);
	return (long)got;
}

static void print_counts(const char *what, const u8 *codes, u64 n)
{
	static u64 counts[256];
	memset(counts, 0, sizeof(counts));
	for (u64 i = 0; i < n; i++)
		counts[codes[i]]++;
	put(what);
	for (int c = 0; c < 256; c++)
		if (counts[c]) {
			put(" ");
			describe((u8)c);
			put("=");
			put_dec((long)counts[c]);
		}
	put("\n");
}

static void print_digests(const char *what, const u8 *codes, u64 n)
{
	put(what);
	for (u64 b = 0; b < n; b += BLOCK) {
		u64 h = 0xCBF29CE484222325ul;
		for (u64 i = b; i < n && i < b + BLOCK; i++)
			h = fnv(h, codes[i]);
		put(" ");
		put_hex(h & 0xFFFFFFFFul);
	}
	put("\n");
}

static int cmd_run(u64 seed, u64 n, const char *path)
{
	u8 *codes = map(0, n + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	region = map(0, 2 * PAGE, RWX, MAP_PRIVATE);
	shared_out = map(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	if (!codes || !region || !shared_out)
		return 4;
	u64 t0 = mono_ns(), straddling = 0, locked = 0;
	for (u64 i = 0; i < n; i++) {
		codes[i] = run_one(seed, i);
		straddling += cur.split != 0;
		locked += cur.lock;
	}
	u64 t1 = mono_ns();
	long fd = sys(SYS_open, path, 01 | 0100 | 01000, 0644); /* O_WRONLY|O_CREAT|O_TRUNC */
	if (fd < 0 || sys(SYS_write, fd, codes, n) != (long)n)
		return 5;
	sys(SYS_close, fd, 0, 0);
	put("sequences ");
	put_dec((long)n);
	put(" straddling ");
	put_dec((long)straddling);
	put(" with-lock ");
	put_dec((long)locked);
	put(" guest-ms ");
	put_dec((long)((t1 - t0) / 1000000));
	put("\n");
	print_counts("outcomes", codes, n);
	print_digests("digests", codes, n);
	return 0;
}

static int cmd_compare(u64 seed, u64 n, const char *base_path, const char *hv_path)
{
	u8 *base = map(0, n + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	u8 *hv = map(0, n + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	u8 *expect = map(0, n + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	if (read_file(base_path, base, n) != (long)n || read_file(hv_path, hv, n) != (long)n)
		return 6;
	u64 mismatches = 0, adjusted = 0;
	struct seq s;
	for (u64 i = 0; i < n; i++) {
		make_seq(seed, i, &s);
		expect[i] = hardware_outcome(&s, base[i]);
		adjusted += expect[i] != base[i];
		if (expect[i] == hv[i])
			continue;
		if (mismatches++ < 40) {
			put("mismatch ");
			show(seed, i);
			put(" baseline=");
			describe(base[i]);
			put(" expected=");
			describe(expect[i]);
			put(" hypervisor=");
			describe(hv[i]);
			put("\n");
		}
	}
	put("compared ");
	put_dec((long)n);
	put(" mismatches ");
	put_dec((long)mismatches);
	put(" hardware-rule-applied ");
	put_dec((long)adjusted);
	put("\n");
	print_counts("expected", expect, n);
	print_counts("hypervisor", hv, n);
	print_digests("expected-digests", expect, n);
	print_digests("hypervisor-digests", hv, n);
	return 0;
}

ENTRY(fuzz_main);
int fuzz_main(long argc, char **argv)
{
	int rc = 2;
	if (argc >= 5 && streq(argv[1], "run"))
		rc = cmd_run(parse_num(argv[2]), parse_num(argv[3]), argv[4]);
	else if (argc >= 6 && streq(argv[1], "compare"))
		rc = cmd_compare(parse_num(argv[2]), parse_num(argv[3]), argv[4], argv[5]);
	else if (argc >= 4 && streq(argv[1], "show")) {
		for (long k = 3; k < argc; k++) {
			show(parse_num(argv[2]), parse_num(argv[k]));
			put("\n");
		}
		rc = 0;
	}
	flush();
	return rc;
}
