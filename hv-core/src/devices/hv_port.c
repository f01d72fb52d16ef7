/*
 * hv_port.c - hides the hypervisor's UART from the guest. Its 8 I/O ports are intercepted:
 * guest reads return 0xFF (an empty ISA bus: Linux's 8250 probe finds no UART there; under UEFI
 * chain boot the line status reads idle, see absent_in) and
 * guest writes are dropped, so the guest can neither see the log nor inject commands.
 */
#include "hv_port.h"
#include "efi_chain.h"
#include "io_hooks.h"
#include "serial.h"

#define UART_LSR 5
#define LSR_IDLE 0x60u /* transmitter empty, holding register empty, no data ready */

static uint32_t absent_in(struct cpu *c, uint16_t port, unsigned size, bool string)
{
	(void)c;
	(void)string;
	if (!efi_chain_active())
		return 0xFFFFFFFFu;
	/* UEFI chain boot: the firmware found this UART before the hypervisor took it and keeps
	 * a serial driver bound to it. With an all-ones line status ("data ready" forever) that
	 * driver drains the receive buffer without end (OVMF does); an idle line status makes it
	 * a UART with nothing attached. The other registers still read all ones. */
	uint32_t value = 0;
	for (unsigned i = 0; i < size && i < 4; i++) {
		uint32_t b = (uint16_t)(port + i) == (uint16_t)(serial_base() + UART_LSR) ? LSR_IDLE : 0xFFu;
		value |= b << (8 * i);
	}
	return size >= 4 ? value : value | (0xFFFFFFFFu << (8 * size));
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
