#include "base64.h"
#include <string.h>

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n) v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n) v |= in[i + 2];
		out[o++] = ALPHABET[(v >> 18) & 63];
		out[o++] = ALPHABET[(v >> 12) & 63];
		out[o++] = i + 1 < n ? ALPHABET[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? ALPHABET[v & 63] : '=';
	}
	out[o] = 0;
	return o;
}

static int value_of(char c)
{
	const char *p = c ? strchr(ALPHABET, c) : NULL;
	return p ? (int)(p - ALPHABET) : -1;
}

long b64_decode(const char *in, unsigned char *out)
{
	size_t len = strlen(in);
	long o = 0;
	if (len % 4 != 0) return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		for (int k = 0; k < 4; k++) {
			char c = in[i + k];
			/* Padding is only valid in the last quantum's final two places. */
			if (c == '=' && i + 4 == len && k >= 2 && (k == 3 || in[i + 3] == '=')) v[k] = 0;
			else if ((v[k] = value_of(c)) < 0) return -1;
		}
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (in[i + 2] != '=') out[o++] = (unsigned char)(v[1] << 4 | v[2] >> 2);
		if (in[i + 3] != '=') out[o++] = (unsigned char)(v[2] << 6 | v[3]);
	}
	return o;
}
