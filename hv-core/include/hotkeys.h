/*
 * hotkeys.h - keyboard hotkeys seen in the i8042 data stream (scan code set 1, as the
 * controller delivers it with translation on). Pure: a binding table and a state machine.
 *
 * Defaults: Ctrl+Alt+F12 toggles 1x <-> 10x, Ctrl+Alt+F11 N -> N+1, Ctrl+Alt+F10 N -> N-1
 * (never below 1). Command line: hotkeys=toggle:ctrl+alt+f12,up:ctrl+alt+f11,down:ctrl+alt+f10
 * (any subset; modifiers ctrl, alt, shift; keys f1..f12), or hotkeys=off.
 */
#ifndef TSX_HV_HOTKEYS_H
#define TSX_HV_HOTKEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hotkey_action { HOTKEY_NONE, HOTKEY_TOGGLE, HOTKEY_UP, HOTKEY_DOWN };

#define HOTKEY_MOD_CTRL 0x1
#define HOTKEY_MOD_ALT 0x2
#define HOTKEY_MOD_SHIFT 0x4
#define HOTKEY_MAX 3

struct hotkey_binding {
	enum hotkey_action action;
	uint8_t modifiers;
	uint8_t scancode; /* set 1 make code */
};

struct hotkeys {
	struct hotkey_binding bindings[HOTKEY_MAX];
	unsigned count;
	uint8_t held_modifiers; /* left/right merged */
	uint8_t held_left, held_right;
	bool extended;           /* previous byte was 0xE0 */
	uint8_t swallowing;      /* scancode of a bound key whose make was swallowed, or 0 */
};

struct hotkey_result {
	bool swallow;           /* the guest must not see this byte ... */
	uint8_t replacement;    /* ... and reads this one instead */
	enum hotkey_action action;
};

void hotkeys_defaults(struct hotkeys *h);
/* Parses a hotkeys= value; returns 0, or -1 (h unchanged) with a static reason in *why. */
int hotkeys_parse(struct hotkeys *h, const char *spec, size_t length, const char **why);
/* Feeds one byte read from the keyboard (not the aux/mouse) data port. */
struct hotkey_result hotkeys_feed(struct hotkeys *h, uint8_t byte);
/* Speed after a hotkey: toggle 1 <-> 10 (anything else -> 1), up floor(N)+1 (max 10000),
 * down ceil(N)-1 but at least 1. */
void hotkeys_apply(enum hotkey_action action, uint64_t p, uint64_t q, uint64_t *np, uint64_t *nq);
const char *hotkeys_action_name(enum hotkey_action action);

#endif
