/*
 * i8042.c - watches the keyboard controller's data port 0x60 for hotkeys. Reads are done
 * on the guest's behalf and passed through unless the byte is a bound hotkey (hotkeys.c
 * decides; the guest reads a harmless substitute instead). Mouse bytes (status bit 5,
 * "auxiliary output buffer full") are never inspected. Writes pass through unchanged.
 * Port layout: IBM PS/2 Technical Reference, "Keyboard/Auxiliary Device Controller".
 */
#include "i8042.h"
#include "guest_time.h"
#include "io_hooks.h"
#include "log.h"
#include "spinlock.h"
#include "x86.h"

#define I8042_DATA 0x60
#define I8042_STATUS 0x64
#define I8042_STATUS_AUX 0x20

static struct hotkeys keys;
static struct spinlock keys_lock; /* any CPU may read the keyboard */

/* The hook covers the one byte port 0x60, so every access here is a byte (io_emulate splits
 * wider ones). */
static uint32_t data_in(struct cpu *c, uint16_t port, unsigned size, bool string)
{
	uint8_t status = inb(I8042_STATUS);
	uint8_t byte = inb(port);
	(void)c;
	(void)size;
	(void)string;
	if (status & I8042_STATUS_AUX)
		return byte;
	spin_lock(&keys_lock);
	struct hotkey_result r = hotkeys_feed(&keys, byte);
	spin_unlock(&keys_lock);
	if (r.action != HOTKEY_NONE) {
		uint64_t p, q, np, nq;
		guest_time_requested(&p, &q);
		hotkeys_apply(r.action, p, q, &np, &nq);
		hv_log_guest("hotkey %s: %lu/%lu -> %lu/%lu", hotkeys_action_name(r.action), p, q, np, nq);
		guest_time_set_speed(np, nq, "hotkey", FROM_GUEST);
	}
	return r.swallow ? r.replacement : byte;
}

static void data_out(struct cpu *c, uint16_t port, unsigned size, uint32_t value, bool string)
{
	(void)c;
	(void)size;
	(void)string;
	outb(port, (uint8_t)value);
}

void i8042_hotkeys_init(const struct hotkeys *bindings)
{
	keys = *bindings;
	if (!keys.count) {
		hv_log("hotkeys off");
		return;
	}
	struct io_hook hook = { I8042_DATA, 1, data_in, data_out };
	io_hook_register(&hook);
}
