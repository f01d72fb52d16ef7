/*
 * hv_port.c - hides the hypervisor's UART from the guest. Its 8 I/O ports are intercepted:
 * guest reads return 0xFF (an empty ISA bus: Linux's 8250 probe finds no UART there) and
 * guest writes are dropped, so the guest can neither see the log nor inject commands.
 */
#include "hv_port.h"
#include "io_hooks.h"
#include "serial.h"

static uint32_t absent_in(struct cpu *c, uint16_t port, unsigned size, bool string)
{
	(void)c;
	(void)port;
	(void)size;
	(void)string;
	return 0xFFFFFFFFu;
}

static void absent_out(struct cpu *c, uint16_t port, unsigned size, uint32_t value, bool string)
{
	(void)c;
	(void)port;
	(void)size;
	(void)value;
	(void)string;
}

void hv_port_hide(void)
{
	struct io_hook hook = { serial_base(), SERIAL_PORT_COUNT, absent_in, absent_out };
	io_hook_register(&hook);
}
