/*
 * serial.c - polled 16550 driver for the hypervisor port: 115200 baud, 8N1, FIFOs on,
 * interrupts off (IER = 0, OUT2 clear). Register layout: PC16550D datasheet, "Registers".
 */
#include "serial.h"
#include "x86.h"

#define UART_RBR 0 /* receive buffer (read) */
#define UART_THR 0 /* transmit holding (write) */
#define UART_IER 1
#define UART_DLL 0 /* divisor latch low (DLAB = 1) */
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LCR_DLAB 0x80
#define LCR_8N1 0x03
#define FCR_ENABLE_CLEAR 0x07
#define MCR_DTR_RTS 0x03
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20
#define BAUD_DIVISOR_115200 1

static uint16_t uart = SERIAL_DEFAULT_PORT;

void serial_init(uint16_t base)
{
	uart = base;
	outb(uart + UART_IER, 0);
	outb(uart + UART_LCR, LCR_DLAB);
	outb(uart + UART_DLL, BAUD_DIVISOR_115200);
	outb(uart + UART_DLM, 0);
	outb(uart + UART_LCR, LCR_8N1);
	outb(uart + UART_FCR, FCR_ENABLE_CLEAR);
	outb(uart + UART_MCR, MCR_DTR_RTS);
}

uint16_t serial_base(void)
{
	return uart;
}

void serial_write(const char *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		/* Bounded wait: a dead UART must not hang the hypervisor. */
		for (unsigned spin = 0; spin < 100000 && !(inb(uart + UART_LSR) & LSR_THR_EMPTY); spin++)
			cpu_relax();
		outb(uart + UART_THR, (uint8_t)s[i]);
	}
}

bool serial_read(uint8_t *byte)
{
	if (!(inb(uart + UART_LSR) & LSR_DATA_READY))
		return false;
	*byte = inb(uart + UART_RBR);
	return true;
}
