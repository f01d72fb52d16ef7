/* RFC 4648 base64 (standard alphabet, padded) for the agent's exec request and reply. */
#ifndef TSX_HV_AGENT_BASE64_H
#define TSX_HV_AGENT_BASE64_H
#include <stddef.h>

/* Encodes n bytes; out must hold 4*((n+2)/3)+1 bytes. Returns the length written (NUL added). */
size_t b64_encode(const unsigned char *in, size_t n, char *out);
/* Decodes a NUL-terminated string; out must hold 3*strlen/4+3 bytes. Returns -1 on bad input. */
long b64_decode(const char *in, unsigned char *out);

#endif
