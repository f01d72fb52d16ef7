/* serial.h - the hypervisor's own 16550 UART (polled, no interrupts). */
#ifndef TSX_HV_SERIAL_H
#define TSX_HV_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

#define SERIAL_DEFAULT_PORT 0x2F8 /* COM2 */
#define SERIAL_PORT_COUNT 8       /* a 16550 decodes 8 consecutive I/O ports */

void serial_init(uint16_t base);
uint16_t serial_base(void);
void serial_write(const char *s, unsigned n);
/* Returns true and stores a byte if one was received. */
bool serial_read(uint8_t *byte);

#endif
