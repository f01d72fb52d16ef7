/* keys.c - raw scan codes from a virtual console: KDSKBMODE(K_RAW) makes the console's tty
 * deliver the bytes the keyboard controller produced (Linux drivers/tty/vt/keyboard.c,
 * kbd_rawcode; console_ioctl(2)), read here without line discipline processing. */
#include "keys.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/kd.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int keys_dump(const char *tty, int seconds)
{
	int fd = open(tty, O_RDWR | O_NOCTTY);
	if (fd < 0) {
		fprintf(stderr, "tsx-hv-agent: keys: cannot open %s: %s\n", tty, strerror(errno));
		return 1;
	}
	int mode;
	struct termios saved, raw;
	if (ioctl(fd, KDGKBMODE, &mode) || tcgetattr(fd, &saved)) {
		fprintf(stderr, "tsx-hv-agent: keys: %s is not a virtual console: %s\n", tty, strerror(errno));
		close(fd);
		return 1;
	}
	raw = saved;
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSANOW, &raw) || ioctl(fd, KDSKBMODE, K_RAW)) {
		fprintf(stderr, "tsx-hv-agent: keys: cannot switch %s to scan codes: %s\n", tty, strerror(errno));
		tcsetattr(fd, TCSANOW, &saved);
		close(fd);
		return 1;
	}
	printf("keys: raw\n");
	fflush(stdout);
	long end = now_ms() + seconds * 1000L;
	for (long left; (left = end - now_ms()) > 0;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		unsigned char buf[64];
		ssize_t n = read(fd, buf, sizeof buf);
		for (ssize_t i = 0; i < n; i++)
			printf("%02x\n", buf[i]);
		fflush(stdout);
	}
	ioctl(fd, KDSKBMODE, mode);
	tcsetattr(fd, TCSANOW, &saved);
	close(fd);
	return 0;
}
