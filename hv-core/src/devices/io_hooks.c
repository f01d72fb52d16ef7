/*
 * io_hooks.c - the table of hooked I/O ports (pass-through is the default for every other
 * port). Devices register at boot, before the vendor code builds its I/O permission map.
 */
#include "io_hooks.h"
#include "hvlib.h"
#include "log.h"

#define MAX_IO_HOOKS 8

static struct io_hook hooks[MAX_IO_HOOKS];
static unsigned hook_count;

void io_hook_register(const struct io_hook *hook)
{
	if (hook_count == MAX_IO_HOOKS)
		hv_panic("too many I/O port hooks");
	hooks[hook_count++] = *hook;
}

const struct io_hook *io_hook_find(uint16_t port)
{
	for (unsigned i = 0; i < hook_count; i++)
		if (port >= hooks[i].base && port < hooks[i].base + hooks[i].count)
			return &hooks[i];
	return NULL;
}

unsigned io_hook_count(void)
{
	return hook_count;
}

const struct io_hook *io_hook_at(unsigned index)
{
	return index < hook_count ? &hooks[index] : NULL;
}
