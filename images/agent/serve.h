/* Agent mode: own the console serial line and answer requests (docs/guest-image.md). */
#ifndef TSX_HV_AGENT_SERVE_H
#define TSX_HV_AGENT_SERVE_H

/* Serves on `device` ("-" = stdin/stdout, for host tests). Returns only on a fatal error. */
int serve(const char *device);

#endif
