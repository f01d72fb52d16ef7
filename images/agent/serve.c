#include "serve.h"
#include "autoarm.h"
#include "hypercall.h"
#include "requests.h"
#include "shell.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* A request line is at most this long (an exec command in base64); longer lines are dropped. */
#define LINE_MAX_BYTES (96 * 1024)
#define POLL_MS 100

static int in_fd = 0, out_fd = 1;

/* Whether the last byte this agent wrote to the console ended a line. A reply must start a line
 * of its own (the host matches `@<id> ...` at the line start), and a shell prompt does not end
 * with a newline. */
static int at_line_start = 1;

static void write_all(const char *s, size_t n)
{
	if (n > 0) at_line_start = s[n - 1] == '\n';
	while (n > 0) {
		ssize_t w = write(out_fd, s, n);
		if (w < 0 && errno == EINTR) continue;
		if (w <= 0) return;
		s += w;
		n -= (size_t)w;
	}
}

static void start_line(void)
{
	if (!at_line_start) write_all("\r\n", 2);
}

static void log_line(const char *line)
{
	start_line();
	write_all(line, strlen(line));
	write_all("\n", 1);
	int k = open("/dev/kmsg", O_WRONLY);
	if (k >= 0) {
		dprintf(k, "%s\n", line);
		close(k);
	}
}

/* Raw, no echo, 115200 8N1: the host speaks a line protocol, the kernel must not echo or
 * translate. */
static int open_console(const char *device)
{
	if (strcmp(device, "-") == 0) return 0;
	int fd = open(device, O_RDWR | O_NOCTTY);
	if (fd < 0) return -1;
	struct termios t;
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		cfsetispeed(&t, B115200);
		cfsetospeed(&t, B115200);
		t.c_cflag |= CLOCAL | CREAD;
		tcsetattr(fd, TCSANOW, &t);
	}
	in_fd = out_fd = fd;
	return 0;
}

static void print_ready(void)
{
	char vendor[13], source[64], line[320];
	struct timespec up;
	cpu_vendor(vendor);
	read_clocksource(source, sizeof source);
	clock_gettime(CLOCK_BOOTTIME, &up);
	snprintf(line, sizeof line,
		 "tsx-hv-agent: ready {\"version\":1,\"hypervisor\":%s,\"vendor\":\"%s\",\"clocksource\":\"%s\",\"uptime_ms\":%lld}",
		 hv_present() ? "\"tsx-hv-vtime\"" : "null", vendor, source,
		 (long long)up.tv_sec * 1000 + up.tv_nsec / 1000000);
	log_line(line);
}

/*
 * Under the test guest's busybox /init the agent is alone: sync, then power off at once. On an
 * installed system run by systemd (the agent is not PID 1 and /run/systemd/system exists, as
 * sd_booted(3) checks), an abrupt power-off would leave file systems with journals to replay, so
 * systemd is asked for a clean shutdown; if that cannot be started, the abrupt way still works.
 */
static void power_off(void)
{
	sync();
	if (getpid() != 1 && access("/run/systemd/system", F_OK) == 0) {
		pid_t pid = fork();
		if (pid == 0) {
			execl("/bin/systemctl", "systemctl", "--no-block", "poweroff", (char *)NULL);
			_exit(127);
		}
		int status = 0;
		if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
	}
	reboot(RB_POWER_OFF);
}

static struct shell sh = { -1, -1 };

/* `@<id> shell` changes how the console is read, so it is handled here, not in requests.c. */
static int handle_shell_request(const char *line)
{
	static const char ID_CHARS[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	if (line[0] != '@') return 0;
	size_t idlen = strspn(line + 1, ID_CHARS);
	if (idlen == 0 || idlen > 32 || strcmp(line + 1 + idlen, " shell") != 0) return 0;
	char reply[128];
	int head = snprintf(reply, sizeof reply, "@%.*s ", (int)idlen, line + 1);
	if (sh.master >= 0) snprintf(reply + head, sizeof reply - head, "err shell-running\n");
	else if (shell_start(&sh) != 0) snprintf(reply + head, sizeof reply - head, "err shell-failed %s\n", strerror(errno));
	else snprintf(reply + head, sizeof reply - head, "ok\n");
	start_line();
	write_all(reply, strlen(reply));
	return 1;
}

static void handle_line(char *line)
{
	size_t n = strlen(line);
	if (n > 0 && line[n - 1] == '\r') line[n - 1] = 0;
	if (handle_shell_request(line)) return;
	char *reply;
	enum request_action act = handle_request(line, &reply);
	if (!reply) return;
	start_line();
	write_all(reply, strlen(reply));
	free(reply);
	if (act == REQUEST_POWEROFF) {
		if (out_fd != 1) tcdrain(out_fd);
		power_off();
	}
}

int serve(const char *device)
{
	if (open_console(device) != 0) {
		fprintf(stderr, "tsx-hv-agent: cannot open %s: %s\n", device, strerror(errno));
		return 1;
	}
	struct autoarm arm;
	autoarm_init(&arm);
	print_ready();
	char *buf = malloc(LINE_MAX_BYTES + 1);
	size_t used = 0;
	int overlong = 0;
	/* With a shell running, console bytes go to the shell except for lines that start with
	 * REQUEST_MARK; without one, every line is a request and the mark is dropped. */
	int in_request = 0;
	for (;;) {
		char msg[320];
		if (autoarm_poll(&arm, msg, sizeof msg)) log_line(msg);
		struct pollfd p[2] = { { in_fd, POLLIN, 0 }, { sh.master, POLLIN, 0 } };
		int r = poll(p, sh.master >= 0 ? 2 : 1, arm.done ? -1 : POLL_MS);
		if (r < 0 && errno != EINTR) return 1;
		if (r <= 0) continue;
		char chunk[4096];
		if (sh.master >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t got = read(sh.master, chunk, sizeof chunk);
			if (got > 0) write_all(chunk, (size_t)got);
			else {
				int code = shell_finish(&sh);
				snprintf(msg, sizeof msg, "tsx-hv-agent: shell exited with status %d", code);
				log_line(msg);
			}
		}
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
		ssize_t got = read(in_fd, chunk, sizeof chunk);
		if (got == 0) return 0;
		if (got < 0) continue;
		for (ssize_t i = 0; i < got; i++) {
			char c = chunk[i];
			if (c == REQUEST_MARK) {
				in_request = 1;
				used = 0;
				overlong = 0;
				continue;
			}
			if (sh.master >= 0 && !in_request) {
				write(sh.master, &c, 1);
				continue;
			}
			if (c == '\n') {
				buf[used] = 0;
				if (!overlong) handle_line(buf);
				used = 0;
				overlong = 0;
				in_request = 0;
			} else if (used < LINE_MAX_BYTES) {
				buf[used++] = c;
			} else {
				overlong = 1;
			}
		}
	}
}
