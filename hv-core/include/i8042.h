/* i8042.h - the keyboard controller data port hook that implements hotkeys. */
#ifndef TSX_HV_I8042_H
#define TSX_HV_I8042_H

#include "hotkeys.h"

/* Installs the port 0x60 hook with these bindings (none: port not intercepted). */
void i8042_hotkeys_init(const struct hotkeys *bindings);

#endif
