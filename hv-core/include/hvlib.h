/*
 * hvlib.h - freestanding helpers of the hypervisor: memory/string functions with the C
 * library's names (gcc may emit calls to memcpy/memset itself, and host unit tests link the
 * pure modules against the host libc unchanged), a bounded formatter, the serial log and panic.
 */
#ifndef TSX_HV_HVLIB_H
#define TSX_HV_HVLIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* snprintf subset: %s %c %d %i %u %x %X %p with optional 0 flag, width, l/ll/z length.
 * Always NUL-terminates (when size > 0); returns the length it would have written. */
int hv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int hv_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Unaligned little-endian loads and stores for byte-addressed tables (multiboot2 tags, the
 * Linux zero page, ACPI tables); x86 is little-endian, memcpy keeps them alignment-safe. */
static inline uint16_t load_le16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}
static inline uint32_t load_le32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}
static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}
static inline void store_le16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}
static inline void store_le32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static inline void store_le64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))

#endif
