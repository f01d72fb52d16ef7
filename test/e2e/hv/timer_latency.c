/*
 * timer_latency: how late (and whether ever early) the guest's timers fire, in GUEST time
 * (CLOCK_MONOTONIC, read with the clock_gettime system call, i.e. the kernel's own timekeeping
 * that its hrtimers use). Issue 13. No libc (guest_harness.h): the guest initramfs has none, and
 * the binary travels base64 over the agent's serial line.
 *
 *   timer_latency all <interval_ns> <iterations>
 *       every kind below in turn, one line each
 *   timer_latency <kind> <interval_ns> <iterations> [stopfile]
 *       one kind; iterations 0 = until `stopfile` exists (checked before every wait)
 *   timer_latency busy <interval_ns> <iterations>
 *       a forked child spins on the same CPU while the parent does nanosleeps (kind busy_nanosleep)
 *       and absolute clock_nanosleeps (kind busy_clock_nanosleep_abs)
 *   timer_latency time <path> [argv0 args...]
 *       runs the program (fork + execve) and prints `guest_ns=N` (CLOCK_MONOTONIC around it)
 *   timer_latency mono
 *       prints CLOCK_MONOTONIC in ns
 *
 * Kinds: nanosleep, clock_nanosleep_abs, timerfd_oneshot, timerfd_periodic, itimer_oneshot,
 * itimer_periodic, posix_oneshot, posix_periodic. One line per kind:
 *
 *   timer kind=K interval_ns=I n=N min_ns=A mean_ns=B max_ns=C early=E lost=L cpu=X cpu_end=Y
 *
 * Overshoot = the CLOCK_MONOTONIC read right after the wake-up minus the time the expiry was
 * due. Where the due time is only known relative to the arming call (nanosleep, setitimer), it
 * is taken from a clock read just BEFORE the call, so the real due time is never earlier than
 * the one used: an observation before it is certainly early, and the overshoot is an upper
 * bound. Absolute timers (TIMER_ABSTIME, TFD_TIMER_ABSTIME) have exact due times.
 *
 * early: expiries observed before they were due (must be 0).
 * lost (periodic timerfd and POSIX timers, which count every expiry: timerfd's read count,
 * 1 + si_overrun): at the end, with the timer still armed, the expiries due up to LATE_GRACE
 * (or twice the worst overshoot seen, if longer) before the final clock read must all have
 * been counted, and no more than were due by then
 * (more is reported as early). A signal wait or timerfd wait that gets nothing within
 * guard_ns of guest time past the due time also counts as lost (and the run stops).
 * setitimer's SIGALRMs coalesce (no overrun count): getitimer right after arming gives the
 * timer's grid (a clock read just before it + the time left: a lower bound of the first expiry),
 * and after each SIGALRM the next expiry on that grid, from which the expiries folded into this signal are known; the
 * overshoot is taken from the oldest of them (the first one not yet seen).
 *
 * `time` mode: the child reads CLOCK_MONOTONIC right before execve (into a shared page), the
 * parent right after wait4 returns: guest_ns is exec + the program + exit + reaping, without
 * the fork; fork_ns is from before the fork to the child's read.
 */
#include "guest_harness.h"

#define SYS_poll 7
#define SYS_rt_sigprocmask 14
#define SYS_nanosleep 35
#define SYS_getitimer 36
#define SYS_setitimer 38
#define SYS_kill 62
#define SYS_access 21
#define SYS_execve 59
#define SYS_rt_sigtimedwait 128
#define SYS_sched_getaffinity 204
#define SYS_timer_create 222
#define SYS_timer_settime 223
#define SYS_timer_delete 226
#define SYS_clock_nanosleep 230
#define SYS_timerfd_create 283
#define SYS_timerfd_settime 286
#define SYS_getcpu 309

#define CLOCK_MONOTONIC 1
#define TIMER_ABSTIME 1
#define SIGALRM 14
#define SIGKILL 9
#define SIGRT 34 /* SIGRTMIN of the kernel (glibc reserves 32 and 33, we have no glibc) */
#define SIGEV_SIGNAL 0
#define POLLIN 1
#define EINTR 4
#define EAGAIN 11
#define NS 1000000000l

/* A wait that gets nothing within this much guest time past the due time is a lost expiry:
 * 60 s, or 1000 periods when that is longer (at 1000x a 1 s period makes it 1 s of host time). */
static long guard_ns;
/* An expiry due this long before the final clock read must have been counted: 100 ms, or one
 * period when that is longer. */
static long late_grace_ns;

struct ts {
	long sec, nsec;
};
struct its {
	struct ts interval, value;
};
struct tv {
	long sec, usec;
};
struct itv {
	struct tv interval, value;
};
struct sigev {
	u64 value;
	int signo, notify;
	int pad[12];
};

static long now(void)
{
	return (long)mono_ns();
}
static struct ts to_ts(long ns)
{
	struct ts t = { ns / NS, ns % NS };
	return t;
}
static unsigned cpu_now(void)
{
	unsigned cpu = ~0u;
	sys(SYS_getcpu, &cpu, 0, 0);
	return cpu;
}

struct stats {
	const char *kind;
	long interval, n, min, max, sum, early, lost;
	unsigned cpu;
	int failed;
};
static void st_init(struct stats *s, const char *kind, long interval)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->interval = interval;
	s->min = 0x7fffffffffffffffl;
	s->max = -0x7fffffffffffffffl;
	s->cpu = cpu_now();
}
/* One observed expiry: seen at `seen`, due at `due`. */
static void st_add(struct stats *s, long seen, long due)
{
	long over = seen - due;
	if (over < 0)
		s->early++;
	if (over < s->min)
		s->min = over;
	if (over > s->max)
		s->max = over;
	s->sum += over;
	s->n++;
}
static void st_print(struct stats *s)
{
	put("timer kind=");
	put(s->kind);
	put(" interval_ns=");
	put_dec(s->interval);
	put(" n=");
	put_dec(s->n);
	put(" min_ns=");
	put_dec(s->n ? s->min : 0);
	put(" mean_ns=");
	put_dec(s->n ? s->sum / s->n : 0);
	put(" max_ns=");
	put_dec(s->n ? s->max : 0);
	put(" early=");
	put_dec(s->early);
	put(" lost=");
	put_dec(s->lost);
	put(" cpu=");
	put_dec(s->cpu);
	put(" cpu_end=");
	put_dec(cpu_now());
	if (s->failed) {
		put(" error=");
		put_dec(s->failed);
	}
	put("\n");
}

static const char *stopfile;
static long iterations;
/* Whether to go on with expiry number i (0-based). */
static int more(long i)
{
	if (iterations > 0)
		return i < iterations;
	return sys(SYS_access, stopfile, 0, 0) != 0;
}

/* Expiries of a periodic timer with first expiry e0 and period p due by time t. */
static long due_by(long t, long e0, long p)
{
	return t < e0 ? 0 : (t - e0) / p + 1;
}
/* The end of a periodic run: compares the counted expiries with the guest clock. */
static void periodic_end(struct stats *s, long counted, long e0, long p)
{
	long t = now();
	/* An expiry due within the measured wake-up latency before this read cannot have been
	 * seen yet (at 60x under TCG that is some 200-700 ms of guest time): the grace is at
	 * least twice the worst overshoot observed in this run. */
	long grace = late_grace_ns > 2 * s->max ? late_grace_ns : 2 * s->max;
	long must = due_by(t - grace, e0, p);
	long may = due_by(t, e0, p);
	if (counted < must)
		s->lost += must - counted;
	if (counted > may)
		s->early += counted - may;
}

static void run_nanosleep(struct stats *s)
{
	for (long i = 0; more(i); i++) {
		struct ts req = to_ts(s->interval);
		long due = now() + s->interval;
		while (sys(SYS_nanosleep, &req, &req, 0) == -EINTR) {
		}
		st_add(s, now(), due);
	}
}

static void run_clock_nanosleep_abs(struct stats *s)
{
	long due = now();
	for (long i = 0; more(i); i++) {
		due += s->interval;
		struct ts req = to_ts(due);
		long r;
		while ((r = sys6(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, (long)&req, 0, 0, 0)) == -EINTR) {
		}
		long seen = now();
		if (r) {
			s->failed = (int)-r;
			return;
		}
		st_add(s, seen, due);
		/* a late wake-up must not make the next sleep a zero-length one */
		if (seen > due)
			due = seen;
	}
}

/* Waits for the timerfd within the guard; returns its expiry count, 0 on timeout (lost). */
static long timerfd_wait(int fd, long due)
{
	for (;;) {
		long wait_ms = (due + guard_ns - now()) / 1000000;
		if (wait_ms < 0)
			return 0;
		struct {
			int fd;
			short events, revents;
		} p = { fd, POLLIN, 0 };
		long r = sys(SYS_poll, &p, 1, wait_ms);
		if (r == 0)
			return 0;
		if (r < 0)
			continue;
		u64 count = 0;
		r = sys(SYS_read, fd, &count, 8);
		if (r == 8)
			return (long)count;
	}
}

static void run_timerfd(struct stats *s, int periodic)
{
	int fd = (int)sys(SYS_timerfd_create, CLOCK_MONOTONIC, 0, 0);
	if (fd < 0) {
		s->failed = -fd;
		return;
	}
	if (periodic) {
		long e0 = now() + s->interval;
		struct its it = { to_ts(s->interval), to_ts(e0) };
		sys6(SYS_timerfd_settime, fd, TIMER_ABSTIME, (long)&it, 0, 0, 0);
		long counted = 0;
		for (long i = 0; more(i); i++) {
			long due = e0 + counted * s->interval; /* of expiry number counted+1 */
			long c = timerfd_wait(fd, due);
			long seen = now();
			if (!c) {
				s->lost++;
				break;
			}
			counted += c;
			/* the newest of the c expiries just reported */
			st_add(s, seen, e0 + (counted - 1) * s->interval);
		}
		/* the expiries since the last read, then the count against the clock */
		u64 rest = 0;
		struct {
			int fd;
			short events, revents;
		} p = { fd, POLLIN, 0 };
		if (sys(SYS_poll, &p, 1, 0) == 1 && sys(SYS_read, fd, &rest, 8) == 8)
			counted += (long)rest;
		periodic_end(s, counted, e0, s->interval);
	} else {
		for (long i = 0; more(i); i++) {
			long due = now() + s->interval;
			struct its it = { { 0, 0 }, to_ts(due) };
			sys6(SYS_timerfd_settime, fd, TIMER_ABSTIME, (long)&it, 0, 0, 0);
			long c = timerfd_wait(fd, due);
			long seen = now();
			if (c != 1) {
				if (c == 0)
					s->lost++;
				else
					s->early += c - 1; /* a one-shot that fired more than once */
				if (c == 0)
					break;
			}
			st_add(s, seen, due);
		}
	}
	sys(SYS_close, fd, 0, 0);
}

/* Blocks `sig` (it stays pending until rt_sigtimedwait takes it). */
static void block(int sig)
{
	u64 set = 1ul << (sig - 1);
	sys6(SYS_rt_sigprocmask, 0 /* SIG_BLOCK */, (long)&set, 0, 8, 0, 0);
}
/* Waits for `sig` until `due` + guard_ns; returns 1 + si_overrun, or 0 on timeout. */
static long sig_wait(int sig, long due)
{
	u64 set = 1ul << (sig - 1);
	for (;;) {
		long left = due + guard_ns - now();
		if (left < 0)
			return 0;
		struct ts tmo = to_ts(left);
		int info[32];
		long r = sys6(SYS_rt_sigtimedwait, (long)&set, (long)info, (long)&tmo, 8, 0, 0);
		if (r == sig)
			return 1 + (sig == SIGRT ? info[5] : 0); /* siginfo._timer.si_overrun at byte 20 */
		if (r == -EAGAIN)
			return 0;
	}
}
static void drain(int sig)
{
	u64 set = 1ul << (sig - 1);
	struct ts zero = { 0, 0 };
	int info[32];
	while (sys6(SYS_rt_sigtimedwait, (long)&set, (long)info, (long)&zero, 8, 0, 0) == sig) {
	}
}

static void run_itimer(struct stats *s, int periodic)
{
	block(SIGALRM);
	drain(SIGALRM);
	long us = s->interval / 1000;
	if (us < 1)
		us = 1;
	long p = us * 1000;
	struct itv off = { { 0, 0 }, { 0, 0 } };
	if (periodic) {
		struct itv it = { { us / 1000000, us % 1000000 }, { us / 1000000, us % 1000000 } };
		struct itv cur;
		sys(SYS_setitimer, 0, &it, 0);
		/* The grid from the kernel: a clock read right before getitimer plus the time left is
		 * a lower bound of the real first expiry (the gap is the system call's entry). */
		long c = now();
		sys(SYS_getitimer, 0, &cur, 0);
		long e0 = c + cur.value.sec * NS + cur.value.usec * 1000;
		long counted = 0;
		for (long i = 0; more(i); i++) {
			long due = e0 + counted * p;
			if (!sig_wait(SIGALRM, due)) {
				s->lost++;
				break;
			}
			long seen = now();
			st_add(s, seen, due);
			/* the next expiry on the grid tells which expiry this signal was */
			c = now();
			sys(SYS_getitimer, 0, &cur, 0);
			if (cur.value.sec == 0 && cur.value.usec == 0) {
				/* Expired again and not yet re-armed (its SIGALRM is pending: Linux
				 * re-arms at dequeue): no grid point to read; count this signal only,
				 * which can only make later due times earlier, never a false early. */
				counted++;
				continue;
			}
			long next = c + cur.value.sec * NS + cur.value.usec * 1000;
			long idx = (next - p - e0 + p / 2) / p; /* 0-based index of the newest expiry */
			counted = idx + 1 > counted + 1 ? idx + 1 : counted + 1;
		}
		sys(SYS_setitimer, 0, &off, 0);
	} else {
		for (long i = 0; more(i); i++) {
			struct itv it = { { 0, 0 }, { us / 1000000, us % 1000000 } };
			long due = now() + p;
			sys(SYS_setitimer, 0, &it, 0);
			if (!sig_wait(SIGALRM, due)) {
				s->lost++;
				break;
			}
			st_add(s, now(), due);
		}
	}
	drain(SIGALRM);
}

static void run_posix(struct stats *s, int periodic)
{
	block(SIGRT);
	drain(SIGRT);
	struct sigev ev;
	memset(&ev, 0, sizeof(ev));
	ev.signo = SIGRT;
	ev.notify = SIGEV_SIGNAL;
	int id = -1;
	long r = sys(SYS_timer_create, CLOCK_MONOTONIC, &ev, &id);
	if (r) {
		s->failed = (int)-r;
		return;
	}
	if (periodic) {
		long e0 = now() + s->interval;
		struct its it = { to_ts(s->interval), to_ts(e0) };
		sys6(SYS_timer_settime, id, TIMER_ABSTIME, (long)&it, 0, 0, 0);
		long counted = 0;
		for (long i = 0; more(i); i++) {
			long due = e0 + counted * s->interval;
			long c = sig_wait(SIGRT, due);
			long seen = now();
			if (!c) {
				s->lost++;
				break;
			}
			counted += c;
			st_add(s, seen, e0 + (counted - 1) * s->interval);
		}
		/* A pending signal carries the expiries since the last one taken. */
		u64 set = 1ul << (SIGRT - 1);
		struct ts zero = { 0, 0 };
		int info[32];
		if (sys6(SYS_rt_sigtimedwait, (long)&set, (long)info, (long)&zero, 8, 0, 0) == SIGRT)
			counted += 1 + info[5];
		periodic_end(s, counted, e0, s->interval);
	} else {
		for (long i = 0; more(i); i++) {
			long due = now() + s->interval;
			struct its it = { { 0, 0 }, to_ts(due) };
			sys6(SYS_timer_settime, id, TIMER_ABSTIME, (long)&it, 0, 0, 0);
			long c = sig_wait(SIGRT, due);
			long seen = now();
			if (!c) {
				s->lost++;
				break;
			}
			if (c > 1)
				s->early += c - 1;
			st_add(s, seen, due);
		}
	}
	sys(SYS_timer_delete, id, 0, 0);
	drain(SIGRT);
}

static const char *const kinds[] = { "nanosleep", "clock_nanosleep_abs", "timerfd_oneshot", "timerfd_periodic",
				     "itimer_oneshot", "itimer_periodic", "posix_oneshot", "posix_periodic" };
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static int run_kind(const char *kind, long interval)
{
	struct stats s;
	st_init(&s, kind, interval);
	if (streq(kind, "nanosleep"))
		run_nanosleep(&s);
	else if (streq(kind, "clock_nanosleep_abs"))
		run_clock_nanosleep_abs(&s);
	else if (streq(kind, "timerfd_oneshot"))
		run_timerfd(&s, 0);
	else if (streq(kind, "timerfd_periodic"))
		run_timerfd(&s, 1);
	else if (streq(kind, "itimer_oneshot"))
		run_itimer(&s, 0);
	else if (streq(kind, "itimer_periodic"))
		run_itimer(&s, 1);
	else if (streq(kind, "posix_oneshot"))
		run_posix(&s, 0);
	else if (streq(kind, "posix_periodic"))
		run_posix(&s, 1);
	else
		return 0;
	st_print(&s);
	return 1;
}

static void usage(void)
{
	put("usage: timer_latency all|busy|KIND <interval_ns> <iterations> [stopfile] | time PATH [ARGV0 ARGS...] | mono\n");
}

ENTRY(timer_main);
int timer_main(long argc, char **argv)
{
	if (argc >= 2 && streq(argv[1], "mono")) {
		put_dec(now());
		put("\n");
		return 0;
	}
	if (argc >= 3 && streq(argv[1], "time")) {
		char **envp = argv + argc + 1;
		char **child_argv = argc >= 4 ? argv + 3 : argv + 2;
		volatile long *shared = map(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
		if (!shared)
			return 3;
		long t0 = now();
		long pid = sys(SYS_fork, 0, 0, 0);
		if (pid == 0) {
			shared[0] = now();
			sys(SYS_execve, argv[2], child_argv, envp);
			sys_exit(127);
		}
		int status = 0;
		while (sys6(SYS_wait4, pid, (long)&status, 0, 0, 0, 0) < 0) {
		}
		long t1 = now();
		put("guest_ns=");
		put_dec(t1 - shared[0]);
		put(" fork_ns=");
		put_dec(shared[0] - t0);
		put(" status=");
		put_dec(status);
		put("\n");
		return WEXITSTATUS(status);
	}
	if (argc < 4) {
		usage();
		return 2;
	}
	long interval = (long)parse_num(argv[2]);
	iterations = (long)parse_num(argv[3]);
	stopfile = argc >= 5 ? argv[4] : "/tmp/timer_latency.stop";
	if (interval <= 0) {
		usage();
		return 2;
	}
	guard_ns = 1000 * interval > 60 * NS ? 1000 * interval : 60 * NS;
	late_grace_ns = interval > NS / 10 ? interval : NS / 10;
	if (streq(argv[1], "all")) {
		for (unsigned k = 0; k < NKINDS; k++)
			run_kind(kinds[k], interval);
		return 0;
	}
	if (streq(argv[1], "busy")) {
		/* both on the CPU the parent runs on, so the spinner competes with the sleeper */
		u64 mask = 1ul << cpu_now();
		sys(SYS_sched_setaffinity, 0, sizeof(mask), &mask);
		long pid = sys(SYS_fork, 0, 0, 0);
		if (pid == 0) {
			volatile u64 spin = 0;
			for (;;)
				spin++;
		}
		if (pid < 0)
			return 3;
		struct stats s;
		st_init(&s, "busy_nanosleep", interval);
		run_nanosleep(&s);
		st_print(&s);
		st_init(&s, "busy_clock_nanosleep_abs", interval);
		run_clock_nanosleep_abs(&s);
		st_print(&s);
		sys(SYS_kill, pid, SIGKILL, 0);
		int status;
		sys6(SYS_wait4, pid, (long)&status, 0, 0, 0, 0);
		return 0;
	}
	if (!run_kind(argv[1], interval)) {
		usage();
		return 2;
	}
	return 0;
}
