/*
 * hostile_battery.c - the guest side of test/e2e/hv/hostile.test.ts (static, no libc, shipped
 * into the guest through the agent). Every case runs in its own forked child; the same binary
 * runs on the baseline (no hypervisor) and under tsx-hv, and the host compares the lines.
 *
 *   battery tsc|vmmcall|vmx|port|io|msr   one line per case: NAME <tab> SHAPE <tab> VALUE <tab> TAG
 *   battery GROUP baseline            the same, without the accesses that abort QEMU's 16550
 *   battery GROUP [baseline] FIRST [COUNT]   only those cases (numbered from 0 in the group)
 *   battery hcall FN RBX RCX [user|as-started]   one `outl %eax, $0xe4` hypercall (ABI v2
 *                                     channel) as root after ioperm(0xE4, 4), as uid 65534
 *                                     without I/O permission, or with what it inherited
 *
 * SHAPE is what must agree between the baseline and the hypervisor (signal, fault RIP relative
 * to the instruction, si_code, which registers changed and how far RDI/RSI moved, how many
 * buffer bytes were written); VALUE is what was read (it may legitimately differ where the
 * baseline has a device the hypervisor hides). A fault is caught by a handler that records
 * the signal, si_code, si_addr, RIP and the registers at the fault.
 */
#include "guest_harness.h"

#define RWX (PROT_READ | PROT_WRITE | PROT_EXEC)
#define HC_MAGIC 0x5453584800000000ul
#define HC_PORT 0xE4

static char *result; /* shared with the children */
static struct sb res;

/* `battery GROUP [baseline] [FIRST [COUNT]]` runs only the cases FIRST.. of the group. */
static long case_no, case_first, case_count = 1000000;
static int case_selected(void)
{
	long n = case_no++;
	return n >= case_first && n < case_first + case_count;
}

/* The fourth column: "uart" when an I/O case touches 0x2F8-0x2FF (the hypervisor's hidden
 * UART; the baseline has a 16550 there), "hcport" for 0xE4-0xE7 (the hypercall port, an empty
 * port for everything but the hypercall), "i8042" for the keyboard data port, else "-". */
static const char *case_tag = "-";

static void run_case(const char *name, void (*fn)(void *), void *arg)
{
	if (!case_selected())
		return;
	memset(result, 0, 256);
	int st = run_child(fn, arg);
	put(name);
	put("\t");
	if (st < 0)
		put("fork-failed\t-");
	else if (WIFSIGNALED(st)) {
		put(signal_name(WTERMSIG(st)));
		put("(killed)\t-");
	} else if (WEXITSTATUS(st) != 0) {
		put("exit=");
		put_dec(WEXITSTATUS(st));
		put("\t-");
	} else if (!result[0])
		put("empty\t-");
	else
		put(result);
	put("\t");
	put(case_tag);
	put("\n");
	case_tag = "-";
}

static void start_result(void)
{
	res.p = result;
	res.len = 0;
	res.cap = PAGE;
	result[0] = 0;
}

/* A process without I/O permission: I/O bitmaps are inherited across fork and execve
 * (ioperm(2)), and this program may descend from a process that opened some ports (the guest
 * agent opens the hypercall port), so clear them first; that needs no privilege. */
static void drop_io_permission(void)
{
	sys(SYS_ioperm, 0, 65536, 0);
}

static void drop_privileges(void)
{
	drop_io_permission();
	sys(SYS_setgroups, 0, 0, 0);
	sys(SYS_setresgid, 65534, 65534, 65534);
	sys(SYS_setresuid, 65534, 65534, 65534);
	if (sys(SYS_getuid, 0, 0, 0) != 65534)
		sys_exit(90);
}

/* ---- where things are, for relative fault addresses ---- */
static u8 *code_at;   /* the instruction under test */
static u8 *anchor;    /* page boundary (code) or buffer start (I/O) */
static u8 *buf_page;  /* first byte of the I/O buffer's middle page, or 0 */
static u64 buf_len;   /* bytes of the buffer region scanned for writes */
static u8 *buf_base;  /* scanned region */
#define BUF_FILL 0xA5
static const char marker[] = "HOSTILE-OUTS-MARKER\n"; /* at the anchor; what OUTS sends */
#define MARKER_LEN (sizeof(marker) - 1)

/* The byte the buffer held before the instruction ran. */
static u8 original_byte(const u8 *p)
{
	return p >= anchor && p < anchor + MARKER_LEN ? (u8)marker[p - anchor] : BUF_FILL;
}

static void put_rel(struct sb *s, u64 addr, u64 base)
{
	long off = (long)(addr - base);
	if (off >= -(long)PAGE && off <= (long)(3 * PAGE)) {
		if (off >= 0)
			sb_put(s, "+");
		sb_dec(s, off);
	} else {
		sb_put(s, "far");
	}
}

/* "SIGSEGV@+0 c128" (RIP relative to the instruction; si_code), plus si_addr for page faults. */
static void fault_prefix(struct sb *s)
{
	sb_put(s, signal_name(hb_fault.sig));
	sb_put(s, "@");
	if (hb_fault.rip == (u64)hb_landing)
		sb_put(s, "landing");
	else
		put_rel(s, hb_fault.rip, (u64)code_at);
	sb_put(s, " c");
	sb_dec(s, hb_fault.code);
	if (hb_fault.sig == 11 && (hb_fault.code == 1 || hb_fault.code == 2)) {
		sb_put(s, " a=");
		put_rel(s, hb_fault.addr, (u64)anchor);
	}
}

/* Registers that differ from what went in: RAX..RDX as values, RSI/RDI as distances moved,
 * the others by name. `in_size` (1, 2, 4) marks RAX as the destination of an IN: then the
 * shape says whether the bits above the access were handled architecturally (kept for 8 and
 * 16 bits, zeroed for 32) and the value column gets the bits read. A negative `in_size` (at a
 * fault or trap) does the same only if RAX changed, i.e. the IN completed before a trap. */
static void regs_diff(struct sb *s, const struct regs *out, int in_size, u64 *in_value)
{
	const u64 *o = &out->rax, *i = &hb_in.rax;
	for (int r = 0; r < NREGS; r++) {
		if (r == 0 && in_size && (in_size > 0 || o[0] != i[0])) {
			in_size = in_size < 0 ? -in_size : in_size;
			u64 mask = in_size == 4 ? 0xFFFFFFFFul : in_size == 2 ? 0xFFFFul : 0xFFul;
			int hi_ok = in_size == 4 ? (o[0] >> 32) == 0 : (o[0] & ~mask) == (i[0] & ~mask);
			sb_put(s, in_size == 4 ? " in32" : in_size == 2 ? " in16" : " in8");
			sb_put(s, hi_ok ? "" : "!upper-bits");
			*in_value = o[0] & mask;
			continue;
		}
		if (o[r] == i[r])
			continue;
		sb_put(s, " ");
		sb_put(s, reg_names[r]);
		sb_put(s, "=");
		if (r == 4 || r == 5) {
			long d = (long)(o[r] - i[r]);
			sb_put(s, d >= 0 ? "+" : "");
			sb_dec(s, d);
		} else if (r <= 3) {
			sb_put(s, "0x");
			sb_hex(s, o[r]);
		} else {
			sb_put(s, "changed");
		}
	}
	if ((out->rflags ^ hb_in.rflags) & FLAGS_CHECKED) {
		sb_put(s, " rflags^");
		sb_hex(s, (out->rflags ^ hb_in.rflags) & FLAGS_CHECKED);
	}
}

/* Which buffer bytes changed (range relative to the anchor) and what they became. */
static void buffer_diff(struct sb *shape, struct sb *value)
{
	if (!buf_base)
		return;
	long lo = -1, hi = -1, n = 0;
	int first = -1, mixed = 0;
	for (u64 k = 0; k < buf_len; k++) {
		if (buf_base[k] == original_byte(buf_base + k))
			continue;
		long off = (long)(buf_base + k - anchor);
		if (lo < 0)
			lo = off;
		hi = off + 1;
		n++;
		if (first < 0)
			first = buf_base[k];
		else if (buf_base[k] != first)
			mixed = 1;
	}
	if (!n)
		return;
	sb_put(shape, " buf[");
	sb_dec(shape, lo);
	sb_put(shape, ",");
	sb_dec(shape, hi);
	sb_put(shape, ")n=");
	sb_dec(shape, n);
	sb_put(value, " bytes=");
	if (mixed)
		sb_put(value, "mixed");
	else
		sb_hex(value, (u64)first);
}

/* ------------------------------------------------------------------ RDTSC / RDTSCP --- */

struct tsc_case {
	u8 bytes[20];
	u64 len;
	int rdtscp;
	int split;      /* bytes of the instruction on the first page; -1: not straddling */
	int second_prot;
	int tf;         /* single-step the instruction */
	int tsd;        /* prctl(PR_SET_TSC, PR_TSC_SIGSEGV): CR4.TSD for this process */
};
static struct tsc_case tc;

static void tsc_fault(void)
{
	start_result();
	fault_prefix(&res);
	/* A trap comes after the instruction completed: then RDX:RAX (and RCX for RDTSCP) were
	 * written, and nothing else may be. A fault leaves every register as it was. */
	int changed = 0, written = 0;
	const u64 *o = &hb_fault.regs.rax, *i = &hb_in.rax;
	for (int r = 0; r < NREGS; r++) {
		int result_reg = r == 0 || r == 3 || (r == 2 && tc.rdtscp);
		if (o[r] != i[r])
			*(result_reg ? &written : &changed) = 1;
	}
	sb_put(&res, written ? " result-written" : "");
	sb_put(&res, changed ? " other-regs-changed" : "");
	sb_put(&res, "\t-");
}

static void tsc_child(void *unused)
{
	(void)unused;
	catch_faults(tsc_fault);
	u8 *region = map(0, 3 * PAGE, RWX, MAP_PRIVATE);
	anchor = region + PAGE;
	code_at = tc.split >= 0 ? anchor - tc.split : region + 64;
	u8 *entry = enter_at(code_at, tc.tf);
	emit_with_landing(code_at, tc.bytes, tc.len);
	if (tc.second_prot != RWX)
		sys(SYS_mprotect, anchor, PAGE, tc.second_prot);
	if (tc.tsd)
		sys(SYS_prctl, PR_SET_TSC, PR_TSC_SIGSEGV, 0);
	u64 aux = tc.tsd ? 0 : plain_rdtscp_aux();
	fill_patterns(&hb_in);
	u64 ref1 = tc.tsd ? 0 : plain_rdtsc();
	run_code(entry);
	u64 ref2 = plain_rdtsc();
	u64 v = (hb_out.rdx << 32) | (u32)hb_out.rax;
	start_result();
	sb_put(&res, tc.rdtscp ? "tscp" : "tsc");
	if (hb_out.rax >> 32)
		sb_put(&res, " !rax-upper");
	if (hb_out.rdx >> 32)
		sb_put(&res, " !rdx-upper");
	if (v == 0)
		sb_put(&res, " !zero");
	if (v < ref1 || v > ref2)
		sb_put(&res, " !outside-neighbour-reads");
	if (tc.rdtscp ? hb_out.rcx != aux : hb_out.rcx != hb_in.rcx)
		sb_put(&res, tc.rdtscp ? " !rcx-not-tsc-aux" : " !rcx-changed");
	const u64 *o = &hb_out.rax, *i = &hb_in.rax;
	for (int r = 4; r < NREGS; r++)
		if (o[r] != i[r]) {
			sb_put(&res, " !");
			sb_put(&res, reg_names[r]);
		}
	if (hb_out.rbx != hb_in.rbx)
		sb_put(&res, " !rbx");
	if ((hb_out.rflags ^ hb_in.rflags) & FLAGS_CHECKED)
		sb_put(&res, " !rflags");
	if (hb_out.rsp != hb_saved_rsp)
		sb_put(&res, " !rsp");
	sb_put(&res, "\t-");
}

static u64 hexbytes(const char *s, u8 *out)
{
	u64 n = 0;
	while (*s) {
		if (*s == ' ') {
			s++;
			continue;
		}
		u8 hi = (u8)(*s <= '9' ? *s - '0' : (*s | 32) - 'a' + 10);
		u8 lo = (u8)(s[1] <= '9' ? s[1] - '0' : (s[1] | 32) - 'a' + 10);
		out[n++] = (u8)(hi << 4 | lo);
		s += 2;
	}
	return n;
}

static void tsc_group(void)
{
	static const char *const prefixes[] = {
		"", "48", "41", "4f", "66", "67", "f2", "f3", "2e", "36", "3e", "26", "64", "65",
		"66 f3 2e 48", "64 65 66 67 f2 41", "48 66", /* REX before a legacy prefix is ignored */
		"f0", "f0 48", "66 f0 f3", "f0 f0", "2e f0 4f",
		"66 67 f2 f3 2e 36 3e 26 64 65 66 67",       /* 12 prefixes */
		"66 67 f2 f3 2e 36 3e 26 64 65 66 67 4f",    /* 13 */
		"66 67 f2 f3 2e 36 3e 26 64 65 66 67 f3 4f", /* 14 */
	};
	char name[128];
	for (int op = 0; op < 2; op++) {
		for (unsigned p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
			memset(&tc, 0, sizeof(tc));
			tc.len = hexbytes(prefixes[p], tc.bytes);
			tc.len += hexbytes(op ? "0f 01 f9" : "0f 31", tc.bytes + tc.len);
			tc.rdtscp = op;
			tc.second_prot = RWX;
			int splits[3] = { -1, 1, (int)tc.len - 1 };
			for (int k = 0; k < 3; k++) {
				if (k == 2 && tc.len == 2)
					continue; /* the same split as k == 1 */
				tc.split = splits[k];
				struct sb n = { name, 0, sizeof(name) };
				sb_put(&n, op ? "rdtscp" : "rdtsc");
				sb_put(&n, " [");
				sb_put(&n, prefixes[p]);
				sb_put(&n, "] ");
				if (tc.split < 0)
					sb_put(&n, "in-page");
				else {
					sb_put(&n, "split ");
					sb_dec(&n, tc.split);
					sb_put(&n, "|");
					sb_dec(&n, (long)tc.len - tc.split);
				}
				run_case(name, tsc_child, 0);
			}
		}
		/* Straddling into a page that is not mapped, or not executable: #PF on fetch. */
		memset(&tc, 0, sizeof(tc));
		tc.len = hexbytes(op ? "66 0f 01 f9" : "66 0f 31", tc.bytes);
		tc.rdtscp = op;
		tc.split = 2;
		tc.second_prot = PROT_NONE;
		run_case(op ? "rdtscp [66] split 2|2, second page not mapped" : "rdtsc [66] split 2|1, second page not mapped", tsc_child, 0);
		tc.second_prot = PROT_READ;
		run_case(op ? "rdtscp [66] split 2|2, second page not executable" : "rdtsc [66] split 2|1, second page not executable", tsc_child, 0);
		/* Single-step: the #DB trap comes right after the instruction. */
		tc.split = -1;
		tc.second_prot = RWX;
		tc.tf = 1;
		run_case(op ? "rdtscp [66] single-stepped (TF)" : "rdtsc [66] single-stepped (TF)", tsc_child, 0);
		tc.len = hexbytes(op ? "f0 0f 01 f9" : "f0 0f 31", tc.bytes);
		run_case(op ? "rdtscp [f0] single-stepped (TF)" : "rdtsc [f0] single-stepped (TF)", tsc_child, 0);
		/* CR4.TSD at CPL 3 is #GP, checked before the intercept. */
		tc.tf = 0;
		tc.tsd = 1;
		tc.len = hexbytes(op ? "0f 01 f9" : "0f 31", tc.bytes);
		run_case(op ? "rdtscp [] with PR_TSC_SIGSEGV (CR4.TSD)" : "rdtsc [] with PR_TSC_SIGSEGV (CR4.TSD)", tsc_child, 0);
	}
}

/* ------------------------------------------------- generic instruction cases --------- */

struct insn_case {
	u8 bytes[16];
	u64 len;
	int user;        /* drop to uid 65534 first */
	int ioperm;      /* ioperm() the I/O ports used below (root) */
	int in_size;     /* IN destination width, for the RAX shape */
	u64 rax, rbx, rcx, rdx, rsi_off, rdi_off; /* rsi/rdi: offsets from the buffer anchor */
	int set_regs;    /* bit 0 rax, 1 rbx, 2 rcx, 3 rdx, 4 rsi, 5 rdi */
	int df;
	int tf;
	int buf;         /* 0 none, 1 rw, 2 read-only, 3 not mapped, 4 rw with an unmapped page after */
	int low_buf;     /* buffer below 4 GiB (for 32-bit addressing) */
	int fs_base;     /* FS base = anchor; the instruction's RSI is relative to it */
	int split;
};
static struct insn_case ic;

static void insn_report(const struct regs *out, int faulted)
{
	struct sb value;
	static char vbuf[128];
	value.p = vbuf;
	value.len = 0;
	value.cap = sizeof(vbuf);
	vbuf[0] = 0;
	start_result();
	if (faulted)
		fault_prefix(&res);
	else
		sb_put(&res, "ok");
	u64 in_value = 0, rax_changed = out->rax != hb_in.rax;
	regs_diff(&res, out, faulted ? -ic.in_size : ic.in_size, &in_value);
	if (ic.in_size && (!faulted || rax_changed)) {
		sb_put(&value, "in=");
		sb_hex(&value, in_value);
	}
	buffer_diff(&res, &value);
	sb_put(&res, "\t");
	sb_put(&res, vbuf[0] == ' ' ? vbuf + 1 : vbuf[0] ? vbuf : "-");
}

static void insn_fault(void)
{
	insn_report(&hb_fault.regs, 1);
}

static void insn_child(void *unused)
{
	(void)unused;
	drop_io_permission();
	if (ic.ioperm) {
		sys(SYS_ioperm, 0x60, 1, 1);
		sys(SYS_ioperm, 0xE0, 16, 1);
		sys(SYS_ioperm, 0x2F0, 0x18, 1);
	}
	if (ic.user)
		drop_privileges();
	catch_faults(insn_fault);
	u8 *region = map(0, 3 * PAGE, RWX, MAP_PRIVATE);
	code_at = ic.split ? region + PAGE - ic.split : region + 64;
	u8 *entry = enter_at(code_at, ic.tf);
	emit_with_landing(code_at, ic.bytes, ic.len);
	anchor = region + PAGE;
	if (ic.buf) {
		u8 *b = ic.low_buf ? map((void *)0x30000000ul, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED)
				   : map(0, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
		memset(b, BUF_FILL, 3 * PAGE);
		memcpy(b + PAGE, marker, MARKER_LEN);
		buf_page = b + PAGE;
		anchor = buf_page;
		buf_base = b;
		buf_len = 3 * PAGE;
		if (ic.buf == 2)
			sys(SYS_mprotect, b + PAGE, PAGE, PROT_READ);
		if (ic.buf == 3)
			sys(SYS_munmap, b + PAGE, PAGE, 0);
		if (ic.buf == 4) {
			sys(SYS_munmap, b + 2 * PAGE, PAGE, 0);
			buf_len = 2 * PAGE;
		}
		if (ic.buf == 3)
			buf_base = 0;
	}
	fill_patterns(&hb_in);
	u64 *r = &hb_in.rax;
	u64 vals[6] = { ic.rax, ic.rbx, ic.rcx, ic.rdx, (u64)anchor + ic.rsi_off, (u64)anchor + ic.rdi_off };
	for (int k = 0; k < 6; k++)
		if (ic.set_regs & (1 << k))
			r[k] = vals[k];
	if (ic.fs_base) {
		sys(SYS_arch_prctl, ARCH_SET_FS, anchor, 0);
		hb_in.rsi = ic.rsi_off;
	}
	if (ic.df)
		hb_in.rflags |= FLAG_DF;
	if (ic.low_buf)
		hb_in.rdi |= 0xDEAD000000000000ul; /* ignored with 32-bit addressing */
	run_code(entry);
	insn_report(&hb_out, 0);
}

#define R_RAX 1
#define R_RBX 2
#define R_RCX 4
#define R_RDX 8
#define R_RSI 16
#define R_RDI 32

/* QEMU 7.2's 16550 model asserts that every access is one byte (hw/char/serial.c:474,
 * `size == 1 && addr < 8`) and aborts the whole emulator otherwise (seen for `inw 0x2f8` and
 * `inw 0x2ff`). On the baseline (`GROUP baseline`) no access wider than a byte that touches
 * 0x2F8-0x2FF is run; under tsx-hv the port is hidden and they must work. */
static int baseline_run;
#define UART_BASE 0x2F8

/* Port and width of the I/O instruction in `b` (DX-relative forms use `dx`); 0 if none. */
static int io_access(const u8 *b, u64 len, u16 dx, u16 *port_out)
{
	u64 k = 0;
	int opsize = 0;
	while (k < len && (b[k] == 0x66 || b[k] == 0xF3 || b[k] == 0xF2 || b[k] == 0x2E || b[k] == 0x64 || b[k] == 0x67 ||
			   (b[k] & 0xF0) == 0x40)) {
		if (b[k] == 0x66)
			opsize = 1;
		k++;
	}
	if (k == len)
		return 0;
	u8 op = b[k];
	u16 port = (op >= 0xE4 && op <= 0xE7 && k + 1 < len) ? b[k + 1] : dx;
	int is_io = (op >= 0xE4 && op <= 0xE7) || (op >= 0xEC && op <= 0xEF) || (op >= 0x6C && op <= 0x6F);
	if (!is_io)
		return 0;
	*port_out = port;
	return (op == 0xEC || op == 0xEE || op == 0x6C || op == 0x6E || op == 0xE4 || op == 0xE6) ? 1 : opsize ? 2 : 4;
}

static int touches(u16 port, int size, u32 base, u32 count)
{
	return size && (u32)port < base + count && (u32)port + (u32)size > base;
}

static void insn(const char *name, const char *bytes, int in_size)
{
	ic.len = hexbytes(bytes, ic.bytes);
	ic.in_size = in_size;
	u16 port = 0;
	int size = io_access(ic.bytes, ic.len, (u16)ic.rdx, &port);
	case_tag = touches(port, size, UART_BASE, 8)	  ? "uart"
		   : touches(port, size, HC_PORT, 4) ? "hcport"
		   : touches(port, size, 0x60, 1)	  ? "i8042"
						  : "-";
	if (baseline_run && size > 1 && touches(port, size, UART_BASE, 8)) {
		case_tag = "-";
		if (!case_selected())
			return;
		put(name);
		put("\tnot-run: aborts QEMU 7.2 (16550 accepts 1-byte accesses only)\t-\tuart\n");
		return;
	}
	run_case(name, insn_child, 0);
}

static void vmmcall_group(void)
{
	static const struct {
		const char *name;
		u64 rax;
		int user;
	} cases[] = {
		{ "vmmcall user, RAX without the magic", 0x12345678, 1 },
		{ "vmmcall user, magic|PROBE", HC_MAGIC | 0, 1 },
		{ "vmmcall user, magic|STATUS", HC_MAGIC | 1, 1 },
		{ "vmmcall user, magic|SET_SPEED 7/1", HC_MAGIC | 2, 1 },
		{ "vmmcall user, magic|ARM", HC_MAGIC | 3, 1 },
		{ "vmmcall user, magic|99", HC_MAGIC | 99, 1 },
		{ "vmmcall root, RAX without the magic", 0x5453584700000002ul, 0 },
		{ "vmmcall root, magic|PROBE", HC_MAGIC | 0, 0 },
		{ "vmmcall root, magic|SET_SPEED 7/1", HC_MAGIC | 2, 0 },
		{ "vmmcall root, magic|ARM", HC_MAGIC | 3, 0 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		memset(&ic, 0, sizeof(ic));
		ic.user = cases[k].user;
		ic.rax = cases[k].rax;
		ic.rbx = 7;
		ic.rcx = 1;
		ic.set_regs = R_RAX | R_RBX | R_RCX;
		insn(cases[k].name, "0f 01 d9", 0);
	}
	memset(&ic, 0, sizeof(ic));
	ic.user = 1;
	ic.split = 2;
	ic.rax = HC_MAGIC | 2;
	ic.rbx = 7;
	ic.rcx = 1;
	ic.set_regs = R_RAX | R_RBX | R_RCX;
	insn("vmmcall user, magic|SET_SPEED 7/1, split 2|1", "0f 01 d9", 0);
	/* The SVM instructions are #UD without EFER.SVME; under a hypervisor EFER.SVME is 1 and
	 * the CPU checks CPL (#GP) before any intercept (APM vol. 3, VMRUN exceptions). */
	static const struct {
		const char *name, *bytes;
	} svm[] = { { "vmrun user", "0f 01 d8" },  { "vmload user", "0f 01 da" }, { "vmsave user", "0f 01 db" },
		    { "stgi user", "0f 01 dc" },   { "clgi user", "0f 01 dd" },   { "skinit user", "0f 01 de" },
		    { "invlpga user", "0f 01 df" } };
	for (unsigned k = 0; k < sizeof(svm) / sizeof(svm[0]); k++) {
		memset(&ic, 0, sizeof(ic));
		ic.user = 1;
		insn(svm[k].name, svm[k].bytes, 0);
	}
}

/* VT-x's instructions, which tsx-hv hides (CPUID.1:ECX.VMX clear, CR4.VMXE refused). Outside
 * VMX operation every one is #UD (SDM vol. 3C, 31.3, each instruction's "Operation": CR4.VMXE = 0
 * or "not in VMX operation" raises #UD before any other check), at any CPL; VMFUNC is #UD outside
 * VMX non-root operation, GETSEC with CR4.SMXE = 0. In VMX non-root operation VMCALL and the VMCS
 * instructions cause a VM exit instead, whatever the CPL (SDM vol. 3C, 26.1.2), so the hypervisor
 * must give the #UD itself, and VMCALL is tsx-hv's hypercall under VT-x: from CPL 3 it must do
 * nothing but #UD. The memory operands point anywhere: #UD comes before any access. On an AMD
 * CPU all of them are #UD as well (VMCALL too: AMD's hypercall is VMMCALL). */
static void vmx_group(void)
{
	static const struct {
		const char *name;
		u64 rax;
		int user;
	} calls[] = {
		{ "vmcall user, RAX without the magic", 0x12345678, 1 },
		{ "vmcall user, magic|PROBE", HC_MAGIC | 0, 1 },
		{ "vmcall user, magic|SET_SPEED 7/1", HC_MAGIC | 2, 1 },
		{ "vmcall user, magic|ARM", HC_MAGIC | 3, 1 },
		{ "vmcall root, magic|PROBE", HC_MAGIC | 0, 0 },
		{ "vmcall root, magic|SET_SPEED 7/1", HC_MAGIC | 2, 0 },
		{ "vmcall root, magic|99", HC_MAGIC | 99, 0 },
	};
	for (unsigned k = 0; k < sizeof(calls) / sizeof(calls[0]); k++) {
		memset(&ic, 0, sizeof(ic));
		ic.user = calls[k].user;
		ic.rax = calls[k].rax;
		ic.rbx = 7;
		ic.rcx = 1;
		ic.set_regs = R_RAX | R_RBX | R_RCX;
		insn(calls[k].name, "0f 01 c1", 0);
	}
	memset(&ic, 0, sizeof(ic));
	ic.user = 1;
	ic.split = 1;
	ic.rax = HC_MAGIC | 2;
	ic.rbx = 7;
	ic.rcx = 1;
	ic.set_regs = R_RAX | R_RBX | R_RCX;
	insn("vmcall user, magic|SET_SPEED 7/1, split 1|2", "0f 01 c1", 0);
	static const struct {
		const char *name, *bytes;
	} vmx[] = {
		{ "vmxon [rax]", "f3 0f c7 30" },   { "vmptrld [rax]", "0f c7 30" },
		{ "vmclear [rax]", "66 0f c7 30" }, { "vmptrst [rax]", "0f c7 38" },
		{ "vmread rax, rbx", "0f 78 d8" },  { "vmwrite rbx, rax", "0f 79 d8" },
		{ "vmlaunch", "0f 01 c2" },	    { "vmresume", "0f 01 c3" },
		{ "vmxoff", "0f 01 c4" },	    { "vmfunc", "0f 01 d4" },
		{ "invept rax, [rbx]", "66 0f 38 80 03" },
		{ "invvpid rax, [rbx]", "66 0f 38 81 03" },
		{ "getsec", "0f 37" },
	};
	static char name[64];
	for (int user = 0; user < 2; user++)
		for (unsigned k = 0; k < sizeof(vmx) / sizeof(vmx[0]); k++) {
			struct sb n = { name, 0, sizeof(name) };
			sb_put(&n, vmx[k].name);
			sb_put(&n, user ? " user" : " root");
			memset(&ic, 0, sizeof(ic));
			ic.user = user;
			insn(name, vmx[k].bytes, 0);
		}
}

/* ------------------------------------------ the privileged hypercall port 0xE4 ------- */

static void port_group(void)
{
	struct {
		const char *name, *bytes;
		int user, ioperm, in_size;
		u64 rax;
	} cases[] = {
		{ "hcport user outl $0xe4 magic|SET_SPEED 7/1", "e7 e4", 1, 0, 0, HC_MAGIC | 2 },
		{ "hcport user outl $0xe4 magic|ARM", "e7 e4", 1, 0, 0, HC_MAGIC | 3 },
		{ "hcport user outl %dx=0xe4 magic|PROBE", "ef", 1, 0, 0, HC_MAGIC | 0 },
		{ "hcport user inl $0xe4", "e5 e4", 1, 0, 4, 0 },
		{ "hcport root without ioperm outl magic|SET_SPEED 7/1", "e7 e4", 0, 0, 0, HC_MAGIC | 2 },
		{ "user inb $0x61 (unhooked port, no permission)", "e4 61", 1, 0, 1, 0 },
		{ "user outb $0x80 (unhooked port, no permission)", "e6 80", 1, 0, 0, 0 },
		{ "user inb $0x2f8 (hooked port, no permission)", "e4 f8", 1, 0, 1, 0 },
		{ "user cli (IOPL check)", "fa", 1, 0, 0, 0 },
		{ "hcport root outb magic|SET_SPEED 7/1", "e6 e4", 0, 1, 0, HC_MAGIC | 2 },
		{ "hcport root outw magic|SET_SPEED 7/1", "66 e7 e4", 0, 1, 0, HC_MAGIC | 2 },
		{ "hcport root outl without magic", "e7 e4", 0, 1, 0, 0x0000000200000002ul },
		{ "hcport root outl $0xe5 magic|SET_SPEED 7/1", "e7 e5", 0, 1, 0, HC_MAGIC | 2 },
		{ "hcport root outl $0xe6 magic|SET_SPEED 7/1", "e7 e6", 0, 1, 0, HC_MAGIC | 2 },
		{ "hcport root outl $0xe7 magic|SET_SPEED 7/1", "e7 e7", 0, 1, 0, HC_MAGIC | 2 },
		{ "hcport root inb $0xe4", "e4 e4", 0, 1, 1, 0 },
		{ "hcport root inw $0xe4", "66 e5 e4", 0, 1, 2, 0 },
		{ "hcport root inl $0xe4", "e5 e4", 0, 1, 4, 0 },
		{ "hcport root inl $0xe6", "e5 e6", 0, 1, 4, 0 },
		{ "hcport root inl $0xe2 (overlaps 0xe4)", "e5 e2", 0, 1, 4, 0 },
		{ "hcport root inb $0xe7", "e4 e7", 0, 1, 1, 0 },
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		memset(&ic, 0, sizeof(ic));
		ic.user = cases[k].user;
		ic.ioperm = cases[k].ioperm;
		ic.rax = cases[k].rax;
		ic.rbx = 7;
		ic.rcx = 1;
		ic.rdx = 0x44444444444400E4ul;
		ic.set_regs = R_RAX | R_RBX | R_RCX | R_RDX;
		insn(cases[k].name, cases[k].bytes, cases[k].in_size);
	}
	/* String I/O to the hypercall port, with RAX carrying the magic and a SET_SPEED: never a call. */
	memset(&ic, 0, sizeof(ic));
	ic.ioperm = 1;
	ic.rax = HC_MAGIC | 2;
	ic.rbx = 7;
	ic.rcx = 4;
	ic.rdx = 0xE4;
	ic.buf = 1;
	ic.set_regs = R_RAX | R_RBX | R_RCX | R_RDX | R_RSI | R_RDI;
	insn("hcport root rep outsl, RAX magic|SET_SPEED", "f3 6f", 0);
	ic.rcx = 9;
	insn("hcport root rep insb x9", "f3 6c", 0);
	ic.rcx = 3;
	insn("hcport root rep insl x3", "f3 6d", 0);
}

/* RFLAGS.IOPL as a user process sees it (0 under Linux: ioperm/iopl use the TSS bitmap). */
static void user_iopl(void *unused)
{
	(void)unused;
	drop_privileges();
	u64 f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f));
	start_result();
	sb_put(&res, "iopl=");
	sb_dec(&res, (long)((f >> 12) & 3));
	sb_put(&res, "\t-");
}

/* Unprivileged attempts to gain I/O permission at all. */
static void try_ioperm(void *unused)
{
	(void)unused;
	drop_privileges();
	start_result();
	sb_put(&res, "ioperm=");
	sb_dec(&res, sys(SYS_ioperm, HC_PORT, 4, 1));
	sb_put(&res, " iopl3=");
	sb_dec(&res, sys(SYS_iopl, 3, 0, 0));
	sb_put(&res, "\t-");
}

/* ------------------------------------------------------------- port I/O --------------- */

static void io_group(void)
{
	static const struct {
		const char *name, *bytes;
		u16 port;
		int in_size;
	} simple[] = {
		{ "inb 0x2f8 (hidden UART)", "ec", 0x2F8, 1 },
		{ "inw 0x2f8", "66 ed", 0x2F8, 2 },
		{ "inl 0x2f8", "ed", 0x2F8, 4 },
		{ "inb 0x2ff", "ec", 0x2FF, 1 },
		{ "inw 0x2ff (0x2ff-0x300)", "66 ed", 0x2FF, 2 },
		{ "inl 0x2fe (0x2fe-0x301)", "ed", 0x2FE, 4 },
		{ "inb 0x2f6 (unhooked neighbour)", "ec", 0x2F6, 1 },
		{ "inw 0x2f6 (unhooked neighbours)", "66 ed", 0x2F6, 2 },
		{ "inw 0x2f7 (0x2f7-0x2f8)", "66 ed", 0x2F7, 2 },
		{ "inl 0x2f6 (0x2f6-0x2f9)", "ed", 0x2F6, 4 },
		{ "inl 0x2f7 (0x2f7-0x2fa)", "ed", 0x2F7, 4 },
		{ "inb 0x60 (i8042 data)", "ec", 0x60, 1 },
		{ "outb 0x2f8", "ee", 0x2F8, 0 },
		{ "outw 0x2f8", "66 ef", 0x2F8, 0 },
		{ "outl 0x2f8", "ef", 0x2F8, 0 },
		{ "outb 0x2f6 (unhooked neighbour)", "ee", 0x2F6, 0 },
		{ "outw 0x2f7 (0x2f7-0x2f8)", "66 ef", 0x2F7, 0 },
		{ "outl 0x2f6 (0x2f6-0x2f9)", "ef", 0x2F6, 0 },
		{ "outl 0x2fe (0x2fe-0x301)", "ef", 0x2FE, 0 },
	};
	for (unsigned k = 0; k < sizeof(simple) / sizeof(simple[0]); k++) {
		memset(&ic, 0, sizeof(ic));
		ic.ioperm = 1;
		/* OUT data: the byte that lands on 0x2f9 (the baseline UART's IER) is 0. */
		ic.rax = 0x8877665500414243ul;
		ic.rdx = 0x4444444444440000ul | simple[k].port;
		ic.set_regs = R_RAX | R_RDX;
		insn(simple[k].name, simple[k].bytes, simple[k].in_size);
	}
	memset(&ic, 0, sizeof(ic));
	ic.ioperm = 1;
	ic.rdx = 0x2F8;
	ic.set_regs = R_RDX;
	ic.split = 1;
	insn("inw 0x2f8, split 1|1", "66 ed", 2);
	ic.split = 0;
	ic.tf = 1;
	insn("inb 0x2f8 single-stepped (TF)", "ec", 1);
	ic.tf = 0;
	/* An IN with prefixes that do not change it: segment override, REX.W (ignored by IN). */
	insn("inb 0x2f8 [2e 48]", "2e 48 ec", 1);
	insn("inl 0x2f8 [f3] (REP on a non-string IN)", "f3 ed", 4);

	/* String I/O: count, direction, width, and where the buffer is. */
	static const struct {
		const char *name, *bytes;
		u16 port;
		u64 count;
		int df, buf;
		u64 rdi_off, rsi_off;
	} str[] = {
		{ "rep insb 0x2f8 x1", "f3 6c", 0x2F8, 1, 0, 1, 16, 0 },
		{ "rep insb 0x2f8 x7", "f3 6c", 0x2F8, 7, 0, 1, 16, 0 },
		{ "rep insb 0x2f8 x100", "f3 6c", 0x2F8, 100, 0, 1, 16, 0 },
		{ "rep insw 0x2f8 x7", "f3 66 6d", 0x2F8, 7, 0, 1, 16, 0 },
		{ "rep insl 0x2f8 x100", "f3 6d", 0x2F8, 100, 0, 1, 16, 0 },
		{ "rep insb 0x2f8 x7, DF=1", "f3 6c", 0x2F8, 7, 1, 1, 2000, 0 },
		{ "rep insl 0x2f8 x13, DF=1", "f3 6d", 0x2F8, 13, 1, 1, 2000, 0 },
		{ "insb 0x2f8 (no REP)", "6c", 0x2F8, 5, 0, 1, 16, 0 },
		{ "rep insb 0x2f8 x0", "f3 6c", 0x2F8, 0, 0, 1, 16, 0 },
		{ "rep insw 0x2f7 x3 (0x2f7-0x2f8)", "f3 66 6d", 0x2F7, 3, 0, 1, 16, 0 },
		{ "rep insb 0x2f6 x5 (unhooked)", "f3 6c", 0x2F6, 5, 0, 1, 16, 0 },
		{ "rep insb 0x60 x3", "f3 6c", 0x60, 3, 0, 1, 16, 0 },
		{ "rep insl 0xe4 x5", "f3 6d", 0xE4, 5, 0, 1, 16, 0 },
		{ "rep insb 0x2f8 x7 into read-only page", "f3 6c", 0x2F8, 7, 0, 2, 16, 0 },
		{ "rep insb 0x2f6 x7 into read-only page", "f3 6c", 0x2F6, 7, 0, 2, 16, 0 },
		{ "rep insl 0x2f8 x7 into unmapped page", "f3 6d", 0x2F8, 7, 0, 3, 16, 0 },
		{ "rep insb 0x2f8 x100 running into an unmapped page", "f3 6c", 0x2F8, 100, 0, 4, PAGE - 50, 0 },
		{ "rep insl 0x2f8 x5 element straddling into an unmapped page", "f3 6d", 0x2F8, 5, 0, 4, PAGE - 6, 0 },
		{ "rep outsb 0x2f8 x20 (marker text)", "f3 6e", 0x2F8, 20, 0, 1, 0, 0 },
		{ "rep outsw 0x2f8 x3", "f3 66 6f", 0x2F8, 3, 0, 1, 0, 0 },
		{ "rep outsl 0x2f8 x5, DF=1", "f3 6f", 0x2F8, 5, 1, 1, 0, 200 },
		{ "rep outsb 0x2f6 x4 (unhooked)", "f3 6e", 0x2F6, 4, 0, 1, 0, 0 },
		{ "rep outsb 0xe4 x4", "f3 6e", 0xE4, 4, 0, 1, 0, 0 },
		{ "rep outsb 0x2f8 x4 from an unmapped page", "f3 6e", 0x2F8, 4, 0, 3, 0, 0 },
		{ "outsb 0x2f8 [2e] (CS override, no REP)", "2e 6e", 0x2F8, 9, 0, 1, 0, 0 },
	};
	for (unsigned k = 0; k < sizeof(str) / sizeof(str[0]); k++) {
		memset(&ic, 0, sizeof(ic));
		ic.ioperm = 1;
		ic.rcx = str[k].count;
		ic.rdx = 0x4444444444440000ul | str[k].port;
		ic.df = str[k].df;
		ic.buf = str[k].buf;
		ic.rdi_off = str[k].rdi_off;
		ic.rsi_off = str[k].rsi_off;
		ic.set_regs = R_RCX | R_RDX | R_RSI | R_RDI;
		insn(str[k].name, str[k].bytes, 0);
	}
	/* FS override on OUTS: the source is FS.base + RSI, and RSI alone points at nothing. */
	memset(&ic, 0, sizeof(ic));
	ic.ioperm = 1;
	ic.rcx = 6;
	ic.rdx = 0x2F8;
	ic.buf = 1;
	ic.fs_base = 1;
	ic.rsi_off = 0x1000;
	ic.set_regs = R_RCX | R_RDX | R_RDI;
	insn("rep outsb 0x2f8 x6 [64] (FS override; RSI alone is unmapped)", "64 f3 6e", 0);
	/* 32-bit addressing: only EDI/ECX count; the buffer lies below 4 GiB. */
	memset(&ic, 0, sizeof(ic));
	ic.ioperm = 1;
	ic.rcx = 0xFFFFFFFF00000006ul;
	ic.rdx = 0x2F8;
	ic.buf = 1;
	ic.low_buf = 1;
	ic.rdi_off = 32;
	ic.set_regs = R_RCX | R_RDX | R_RDI;
	insn("rep insb 0x2f8 x6 [67] (32-bit addressing, RCX upper bits set)", "67 f3 6c", 0);
	memset(&ic, 0, sizeof(ic));
	ic.ioperm = 1;
	ic.rcx = 5;
	ic.rdx = 0x2F8;
	ic.buf = 1;
	ic.split = 1;
	ic.rdi_off = 16;
	ic.set_regs = R_RCX | R_RDX | R_RDI;
	insn("rep insb 0x2f8 x5, split 1|1", "f3 6c", 0);
}

/* ---------------------------------------------------------------- MSRs ---------------- */

#define MSR_IA32_TSC 0x10
#define MSR_APIC_BASE 0x1B
#define MSR_TSC_ADJUST 0x3B
#define MSR_TSC_DEADLINE 0x6E0
#define MSR_EFER 0xC0000080
#define MSR_TSC_AUX 0xC0000103
#define MSR_VM_CR 0xC0010114
#define MSR_VM_HSAVE_PA 0xC0010117
#define EFER_SVME (1ul << 12)

static long msr_fd = -1;
static long msr_read(u32 msr, u64 *v)
{
	long r = sys6(SYS_pread64, msr_fd, (long)v, 8, msr, 0, 0);
	return r == 8 ? 0 : r;
}
static long msr_write(u32 msr, u64 v)
{
	long r = sys6(SYS_pwrite64, msr_fd, (long)&v, 8, msr, 0, 0);
	return r == 8 ? 0 : r;
}
static void sb_errno(struct sb *s, long r)
{
	sb_put(s, r == 0 ? "ok" : r == -5 ? "EIO" : r == -1 ? "EPERM" : "err");
	if (r != 0 && r != -5 && r != -1)
		sb_dec(s, r);
}

static struct {
	u32 msr;
	int op; /* 0 read, 1 write the value read, 2 write it | bits (then restore), 3 write it & ~bits */
	u64 bits;
} mc;

static void efer_class(struct sb *s, u64 v)
{
	sb_put(s, v & 1 ? " sce" : "");
	sb_put(s, v & (1ul << 8) ? " lme" : "");
	sb_put(s, v & (1ul << 10) ? " lma" : "");
	sb_put(s, v & (1ul << 11) ? " nxe" : "");
	sb_put(s, v & EFER_SVME ? " svme" : "");
	if (v & ~0x1D01ul) {
		sb_put(s, " other=");
		sb_hex(s, v & ~0x1D01ul);
	}
}
static void apic_class(struct sb *s, u64 v)
{
	sb_put(s, v & (1ul << 8) ? " bsp" : "");
	sb_put(s, v & (1ul << 10) ? " x2apic" : "");
	sb_put(s, v & (1ul << 11) ? " enabled" : "");
	sb_put(s, " base=");
	sb_hex(s, v & 0x000FFFFFFFFFF000ul);
	if (v & ~0x000FFFFFFFFFFD00ul) {
		sb_put(s, " other=");
		sb_hex(s, v & ~0x000FFFFFFFFFFD00ul);
	}
}

static void msr_child(void *unused)
{
	(void)unused;
	start_result();
	u64 v = 0, back = 0;
	long r = msr_read(mc.msr, &v);
	if (mc.op == 0) {
		sb_put(&res, "read=");
		sb_errno(&res, r);
		if (r == 0 && mc.msr == MSR_EFER)
			efer_class(&res, v);
		if (r == 0 && mc.msr == MSR_APIC_BASE)
			apic_class(&res, v);
		sb_put(&res, "\t");
		if (r == 0)
			sb_hex(&res, v);
		else
			sb_put(&res, "-");
		return;
	}
	if (r != 0) {
		sb_put(&res, "read=");
		sb_errno(&res, r);
		sb_put(&res, "\t-");
		return;
	}
	u64 want = mc.op == 1 ? v : mc.op == 2 ? v | mc.bits : v & ~mc.bits;
	long w = msr_write(mc.msr, want);
	long rb = msr_read(mc.msr, &back);
	long restore = 1;
	if (back != v)
		restore = msr_write(mc.msr, v);
	sb_put(&res, "write=");
	sb_errno(&res, w);
	sb_put(&res, rb != 0 ? " readback=failed" : back == v ? " readback=unchanged" : back == want ? " readback=written" : " readback=other");
	if (restore != 1)
		sb_put(&res, restore == 0 ? " restored" : " restore-failed");
	sb_put(&res, "\t");
	sb_hex(&res, back);
}

/* TSC_AUX as RDTSCP's ECX: write a marker, read it through RDTSCP, restore. */
static void tsc_aux_child(void *unused)
{
	(void)unused;
	start_result();
	u64 old = 0;
	long r = msr_read(MSR_TSC_AUX, &old);
	long w = msr_write(MSR_TSC_AUX, 0x2A);
	u64 seen = plain_rdtscp_aux();
	msr_write(MSR_TSC_AUX, old);
	u64 after = plain_rdtscp_aux();
	sb_put(&res, "read=");
	sb_errno(&res, r);
	sb_put(&res, " write=");
	sb_errno(&res, w);
	sb_put(&res, seen == 0x2A ? " rdtscp-ecx=written" : " rdtscp-ecx=other");
	sb_put(&res, after == old ? " restored" : " not-restored");
	sb_put(&res, "\t");
	sb_hex(&res, seen);
}

/* IA32_TSC: RDMSR agrees with RDTSC; a write moves RDTSC (2^35 cycles forward, never back). */
static void tsc_msr_child(void *write)
{
	start_result();
	u64 m = 0;
	u64 a = plain_rdtsc();
	long r = msr_read(MSR_IA32_TSC, &m);
	u64 b = plain_rdtsc();
	sb_put(&res, "read=");
	sb_errno(&res, r);
	sb_put(&res, r == 0 && m >= a && m <= b ? " between-rdtsc" : " not-between-rdtsc");
	if (write) {
		u64 jump = 1ul << 35;
		long w = msr_write(MSR_IA32_TSC, m + jump);
		u64 c = plain_rdtsc();
		sb_put(&res, " write+2^35=");
		sb_errno(&res, w);
		/* The new TSC is m + 2^35 at the write, and b was read after m: c - b is 2^35 give or
		 * take the exit jitter (times 60 at 60x), so "moved" means by about 2^35. */
		sb_put(&res, c - b >= jump / 2 ? " rdtsc-moved" : " rdtsc-not-moved");
	}
	sb_put(&res, "\t");
	sb_hex(&res, m);
}

static void msr_case(const char *name, u32 msr, int op, u64 bits)
{
	mc.msr = msr;
	mc.op = op;
	mc.bits = bits;
	run_case(name, msr_child, 0);
}

static void msr_group(void)
{
	hb_fixed_cpu = 0; /* /dev/cpu/0/msr is CPU 0's; the RDTSC(P) checks must run there too */
	msr_fd = sys(SYS_open, "/dev/cpu/0/msr", O_RDWR, 0);
	if (msr_fd < 0) {
		put("msr driver\tmissing /dev/cpu/0/msr (");
		put_dec(msr_fd);
		put(")\t-\n");
		return;
	}
	msr_case("efer read", MSR_EFER, 0, 0);
	msr_case("efer write unchanged", MSR_EFER, 1, 0);
	msr_case("efer set reserved bit 2", MSR_EFER, 2, 1ul << 2);
	msr_case("efer set reserved bit 9", MSR_EFER, 2, 1ul << 9);
	msr_case("efer set reserved bit 63", MSR_EFER, 2, 1ul << 63);
	msr_case("efer set SVME (bit 12)", MSR_EFER, 2, EFER_SVME);
	msr_case("apic_base read", MSR_APIC_BASE, 0, 0);
	msr_case("apic_base write unchanged", MSR_APIC_BASE, 1, 0);
	msr_case("apic_base set reserved bit 9", MSR_APIC_BASE, 2, 1ul << 9);
	msr_case("apic_base set reserved bit 63", MSR_APIC_BASE, 2, 1ul << 63);
	/* Where the CPU offers x2APIC (CPUID.1:ECX[21]: Bochs's Intel models), setting the enable
	 * bit is a real switch to x2APIC mode: the xAPIC page the kernel drives stops answering
	 * and the guest loses its timer (and x2APIC -> xAPIC cannot be written back directly,
	 * SDM vol. 3A, 10.12.5), so the case is only run where the CPU hides x2APIC and the write
	 * must be #GP (tsx-hv hides it on both vendors). */
	u32 a = 1, b, c = 0, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	if (c & (1u << 21)) {
		if (case_selected()) {
			put("apic_base set x2APIC enable (bit 10)");
			put("\tnot-run: the CPU offers x2APIC (a real mode switch)\t-\t-\n");
		}
	} else
		msr_case("apic_base set x2APIC enable (bit 10)", MSR_APIC_BASE, 2, 1ul << 10);
	msr_case("tsc_adjust read", MSR_TSC_ADJUST, 0, 0);
	msr_case("tsc_adjust write unchanged", MSR_TSC_ADJUST, 1, 0);
	msr_case("tsc_deadline read", MSR_TSC_DEADLINE, 0, 0);
	msr_case("vm_cr read", MSR_VM_CR, 0, 0);
	msr_case("vm_hsave_pa read", MSR_VM_HSAVE_PA, 0, 0);
	msr_case("vm_hsave_pa write unchanged", MSR_VM_HSAVE_PA, 1, 0);
	run_case("tsc_aux write 0x2a, read by rdtscp", tsc_aux_child, 0);
	run_case("ia32_tsc read", tsc_msr_child, 0);
	run_case("ia32_tsc write +2^35", tsc_msr_child, (void *)1);
}

/* ------------------------------------------------------- one hypercall via 0xE4 ------- */

/* `how`: 0 root after ioperm(0xE4, 4, 1); 1 uid 65534 without I/O permission; 2 as started
 * (whatever uid and I/O permission the process inherited). */
static int hcall(char **argv, int how)
{
	if (how == 1)
		drop_privileges();
	else if (how == 0 && sys(SYS_ioperm, HC_PORT, 4, 1) != 0)
		return 3;
	u64 rax = HC_MAGIC | parse_num(argv[2]), rbx = parse_num(argv[3]), rcx = parse_num(argv[4]), rdx = 0;
	__asm__ volatile("outl %%eax, $0xe4" : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx) : : "memory");
	put("rax=");
	put_dec((long)rax);
	put(" rbx=");
	put_dec((long)rbx);
	put(" rcx=");
	put_dec((long)rcx);
	put(" rdx=");
	put_dec((long)rdx);
	put("\n");
	return 0;
}

/* Baseline only: ends the line on the hypervisor port's wire with raw OUTs to the UART, each
 * byte once the transmitter holding register is empty (LSR bit 5; bounded wait). Not through
 * /dev/ttyS1: the io group's reads of the UART's registers (IIR among them) can swallow the
 * THRE interrupt Linux's driver waits for, and a write through the tty then never ends. */
static int wire_end(void)
{
	static const char end[] = "\nHOSTILE-BATTERY-END\n";
	if (sys(SYS_ioperm, UART_BASE, 8, 1) != 0)
		return 3;
	for (unsigned i = 0; i < sizeof(end) - 1; i++) {
		for (long spin = 0; spin < 50000000; spin++) {
			u8 lsr;
			__asm__ volatile("inb %w1, %b0" : "=a"(lsr) : "Nd"((u16)(UART_BASE + 5)));
			if (lsr & 0x20)
				break;
		}
		__asm__ volatile("outb %b0, %w1" : : "a"((u8)end[i]), "Nd"((u16)UART_BASE));
	}
	return 0;
}

ENTRY(battery_main);
int battery_main(long argc, char **argv)
{
	if (argc < 2)
		return 2;
	result = map(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	if (streq(argv[1], "wire-end"))
		return wire_end();
	if (streq(argv[1], "hcall") && argc >= 5)
		return hcall(argv, argc <= 5 ? 0 : streq(argv[5], "user") ? 1 : streq(argv[5], "as-started") ? 2 : 0);
	int a = 2;
	baseline_run = argc > a && streq(argv[a], "baseline");
	a += baseline_run;
	if (argc > a)
		case_first = (long)parse_num(argv[a]);
	if (argc > a + 1)
		case_count = (long)parse_num(argv[a + 1]);
	if (streq(argv[1], "tsc"))
		tsc_group();
	else if (streq(argv[1], "vmmcall"))
		vmmcall_group();
	else if (streq(argv[1], "vmx"))
		vmx_group();
	else if (streq(argv[1], "port")) {
		run_case("hcport user ioperm/iopl", try_ioperm, 0);
		run_case("user RFLAGS.IOPL", user_iopl, 0);
		port_group();
	} else if (streq(argv[1], "io"))
		io_group();
	else if (streq(argv[1], "msr"))
		msr_group();
	else
		return 2;
	flush();
	return 0;
}
