/*
 * hotkeys.c - hotkey bindings and the scan code state machine (scan code set 1: make codes
 * 0x01..0x58, break = make | 0x80, 0xE0 prefixes the extended keys such as right Ctrl/Alt).
 *
 * A bound key pressed while its modifiers are held is swallowed together with its
 * typematic repeats and its release. The guest still gets the keyboard interrupt for each
 * swallowed byte, so it reads a substitute: the *release* code of the bound key. Linux's
 * input core drops a release for a key it never saw pressed, so the substitute has no
 * effect (drivers/input/input.c, input_handle_event).
 */
#include "hotkeys.h"
#include "hvlib.h"

#define SC_EXTENDED 0xE0
#define SC_BREAK 0x80
#define SC_CTRL 0x1D
#define SC_ALT 0x38
#define SC_LSHIFT 0x2A
#define SC_RSHIFT 0x36
#define SPEED_LIMIT 10000u

static const uint8_t function_keys[12] = { 0x3B, 0x3C, 0x3D, 0x3E, 0x3F, 0x40,
					   0x41, 0x42, 0x43, 0x44, 0x57, 0x58 };

void hotkeys_defaults(struct hotkeys *h)
{
	memset(h, 0, sizeof(*h));
	h->bindings[0] = (struct hotkey_binding){ HOTKEY_TOGGLE, HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT, 0x58 };
	h->bindings[1] = (struct hotkey_binding){ HOTKEY_UP, HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT, 0x57 };
	h->bindings[2] = (struct hotkey_binding){ HOTKEY_DOWN, HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT, 0x44 };
	h->count = 3;
}

static bool token_is(const char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && !memcmp(s, lit, n);
}

/* "ctrl+alt+f12" -> modifiers + scancode. */
static int parse_combo(const char *s, size_t n, struct hotkey_binding *b)
{
	b->modifiers = 0;
	b->scancode = 0;
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != '+')
			j++;
		const char *t = s + i;
		size_t tn = j - i;
		if (b->scancode)
			return -1; /* the key must come last */
		if (token_is(t, tn, "ctrl"))
			b->modifiers |= HOTKEY_MOD_CTRL;
		else if (token_is(t, tn, "alt"))
			b->modifiers |= HOTKEY_MOD_ALT;
		else if (token_is(t, tn, "shift"))
			b->modifiers |= HOTKEY_MOD_SHIFT;
		else if ((tn == 2 || tn == 3) && t[0] == 'f' && t[1] >= '1' && t[1] <= '9') {
			unsigned k = (unsigned)(t[1] - '0');
			if (tn == 3) {
				if (t[2] < '0' || t[2] > '9')
					return -1;
				k = k * 10 + (unsigned)(t[2] - '0');
			}
			if (k < 1 || k > 12)
				return -1;
			b->scancode = function_keys[k - 1];
		} else {
			return -1;
		}
		i = j + 1;
	}
	return b->scancode ? 0 : -1;
}

int hotkeys_parse(struct hotkeys *h, const char *spec, size_t n, const char **why)
{
	struct hotkeys parsed;
	memset(&parsed, 0, sizeof(parsed));
	if (token_is(spec, n, "off")) {
		*h = parsed;
		return 0;
	}
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && spec[j] != ',')
			j++;
		size_t colon = i;
		while (colon < j && spec[colon] != ':')
			colon++;
		if (colon == j) {
			*why = "expected action:keys (e.g. toggle:ctrl+alt+f12)";
			return -1;
		}
		struct hotkey_binding b;
		if (token_is(spec + i, colon - i, "toggle"))
			b.action = HOTKEY_TOGGLE;
		else if (token_is(spec + i, colon - i, "up"))
			b.action = HOTKEY_UP;
		else if (token_is(spec + i, colon - i, "down"))
			b.action = HOTKEY_DOWN;
		else {
			*why = "unknown action (toggle, up, down)";
			return -1;
		}
		if (parse_combo(spec + colon + 1, j - colon - 1, &b)) {
			*why = "bad key combination (modifiers ctrl/alt/shift, then f1..f12)";
			return -1;
		}
		if (parsed.count == HOTKEY_MAX) {
			*why = "at most 3 bindings";
			return -1;
		}
		parsed.bindings[parsed.count++] = b;
		i = j + 1;
	}
	*h = parsed;
	return 0;
}

static uint8_t modifier_bit(uint8_t make)
{
	switch (make) {
	case SC_CTRL:
		return HOTKEY_MOD_CTRL;
	case SC_ALT:
		return HOTKEY_MOD_ALT;
	case SC_LSHIFT:
	case SC_RSHIFT:
		return HOTKEY_MOD_SHIFT;
	default:
		return 0;
	}
}

struct hotkey_result hotkeys_feed(struct hotkeys *h, uint8_t byte)
{
	struct hotkey_result r = { false, 0, HOTKEY_NONE };
	if (byte == SC_EXTENDED) {
		h->extended = true;
		return r;
	}
	bool extended = h->extended;
	h->extended = false;
	uint8_t make = byte & (uint8_t)~SC_BREAK;
	bool release = byte & SC_BREAK;
	uint8_t mod = modifier_bit(make);
	/* Extended shift codes (E0 2A / E0 AA) are fake shifts, not real key presses. */
	if (mod && !(extended && mod == HOTKEY_MOD_SHIFT)) {
		uint8_t *side = extended || make == SC_RSHIFT ? &h->held_right : &h->held_left;
		if (release)
			*side &= (uint8_t)~mod;
		else
			*side |= mod;
		h->held_modifiers = h->held_left | h->held_right;
		return r;
	}
	if (extended || byte >= 0xF0)
		return r;
	if (h->swallowing && make == h->swallowing) {
		r.swallow = true;
		r.replacement = (uint8_t)(make | SC_BREAK);
		if (release)
			h->swallowing = 0;
		return r;
	}
	if (release)
		return r;
	for (unsigned i = 0; i < h->count; i++) {
		const struct hotkey_binding *b = &h->bindings[i];
		/* Exactly the bound modifiers: Ctrl+Alt+Shift+F12 is not Ctrl+Alt+F12. */
		if (b->scancode == make && b->modifiers == h->held_modifiers) {
			h->swallowing = make;
			r.swallow = true;
			r.replacement = (uint8_t)(make | SC_BREAK);
			r.action = b->action;
			return r;
		}
	}
	return r;
}

void hotkeys_apply(enum hotkey_action action, uint64_t p, uint64_t q, uint64_t *np, uint64_t *nq)
{
	uint64_t floor_n = p / q, ceil_n = (p + q - 1) / q;
	*nq = 1;
	switch (action) {
	case HOTKEY_TOGGLE:
		*np = (p == q) ? 10 : 1;
		break;
	case HOTKEY_UP:
		*np = floor_n + 1 > SPEED_LIMIT ? SPEED_LIMIT : floor_n + 1;
		break;
	case HOTKEY_DOWN:
		*np = ceil_n > 2 ? ceil_n - 1 : 1;
		break;
	default:
		*np = p;
		*nq = q;
		break;
	}
}

const char *hotkeys_action_name(enum hotkey_action action)
{
	switch (action) {
	case HOTKEY_TOGGLE:
		return "toggle";
	case HOTKEY_UP:
		return "up";
	case HOTKEY_DOWN:
		return "down";
	default:
		return "none";
	}
}
