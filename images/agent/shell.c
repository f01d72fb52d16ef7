#define _GNU_SOURCE
#include "shell.h"
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

int shell_start(struct shell *s)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0) return -1;
	if (grantpt(master) != 0 || unlockpt(master) != 0) {
		close(master);
		return -1;
	}
	const char *slave_name = ptsname(master);
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	ioctl(master, TIOCSWINSZ, &ws);
	pid_t pid = fork();
	if (pid < 0) {
		close(master);
		return -1;
	}
	if (pid == 0) {
		setsid();
		int slave = open(slave_name, O_RDWR);
		if (slave < 0) _exit(127);
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		if (slave > 2) close(slave);
		setenv("TERM", "linux", 1);
		setenv("HOME", "/", 1);
		execl("/bin/sh", "-sh", (char *)NULL);
		_exit(127);
	}
	s->master = master;
	s->pid = pid;
	return 0;
}

int shell_finish(struct shell *s)
{
	int status = 0;
	close(s->master);
	waitpid(s->pid, &status, 0);
	s->master = -1;
	s->pid = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
