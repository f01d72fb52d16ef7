/* The hypervisor-facing commands (speed, status, arm), shared by the console protocol and the
 * command-line mode. Each fills `out` with the reply payload (success) or the error message. */
#ifndef TSX_HV_AGENT_HVCMDS_H
#define TSX_HV_AGENT_HVCMDS_H
#include <stddef.h>
#include <stdint.h>

/* Parses "N", "P/Q" or a decimal such as "0.5" into p/q (both >= 1). Returns 0 or -1. */
int parse_speed(const char *s, uint64_t *p, uint64_t *q);

int hv_cmd_speed(const char *arg, char *out, size_t n);
int hv_cmd_status(char *out, size_t n);
int hv_cmd_arm(char *out, size_t n);

#endif
