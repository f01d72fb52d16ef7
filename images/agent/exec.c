#include "exec.h"
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int exec_command(const char *command, char **out, size_t *len, size_t *dropped)
{
	int fds[2];
	if (pipe(fds) != 0) return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char *buf = malloc(EXEC_OUTPUT_MAX);
	size_t used = 0, over = 0;
	char scratch[4096];
	ssize_t r;
	/* Keep draining after the cap so the child never blocks on a full pipe. */
	while ((r = read(fds[0], scratch, sizeof scratch)) != 0) {
		if (r < 0) continue;
		for (ssize_t i = 0; i < r; i++) {
			if (used < EXEC_OUTPUT_MAX) buf[used++] = scratch[i];
			else over++;
		}
	}
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0) {
	}
	*out = buf;
	*len = used;
	*dropped = over;
	if (WIFEXITED(status)) return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
