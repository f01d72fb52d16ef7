/* `shell`: a login-less interactive shell on the console for `tsx-hv run`, on a pseudo-terminal
 * that the agent relays, so the agent keeps answering requests while the shell runs. */
#ifndef TSX_HV_AGENT_SHELL_H
#define TSX_HV_AGENT_SHELL_H
#include <sys/types.h>

/* Record separator (Ctrl-^): a request line that starts with it goes to the agent, never to the
 * shell. The host prefixes every request with it. */
#define REQUEST_MARK 0x1e

struct shell {
	int master; /* -1 when no shell runs */
	pid_t pid;
};

/* Starts /bin/sh -i on a new pty. Returns 0, or -1 with errno set. */
int shell_start(struct shell *s);
/* Reaps the shell after its pty closed and resets *s. Returns its exit status. */
int shell_finish(struct shell *s);

#endif
