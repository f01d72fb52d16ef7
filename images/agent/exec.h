/* `exec`: run one shell command, capturing stdout+stderr. */
#ifndef TSX_HV_AGENT_EXEC_H
#define TSX_HV_AGENT_EXEC_H
#include <stddef.h>

/* Output beyond this many bytes is dropped (the reply is one console line). */
#define EXEC_OUTPUT_MAX (64 * 1024)

/* Runs `/bin/sh -c command` with stdin from /dev/null. Fills *out (malloc'ed, caller frees) and
 * *len with the combined output, *dropped with the bytes beyond EXEC_OUTPUT_MAX. Returns the
 * exit status (128+signal when killed) or -1. */
int exec_command(const char *command, char **out, size_t *len, size_t *dropped);

#endif
