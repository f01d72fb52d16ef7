/* Hypervisor command line and hotkeys (hv-core/src/boot/config.c, src/devices/hotkeys.c). */
#include "config.h"
#include "hotkeys.h"
#include "unit.h"

static int reports;
static char last_report[128];

static void report(const char *word, size_t length, const char *why)
{
	reports++;
	snprintf(last_report, sizeof(last_report), "%.*s: %s", (int)length, word, why);
}

TEST(defaults_and_known_keys)
{
	struct hv_config c;
	reports = 0;
	config_parse("", &c, report);
	CHECK_EQ_U64(c.serial_port, 0x2F8);
	CHECK_EQ_U64(c.grace_seconds, CONFIG_DEFAULT_GRACE_SECONDS);
	CHECK(c.on_shutdown == SHUTDOWN_POWEROFF);
	CHECK_EQ_U64(c.hotkeys.count, 3);
	config_parse("/boot/tsx-hv.elf serial=0x3f8  grace=0 on-shutdown=halt", &c, report);
	CHECK_EQ_U64(c.serial_port, 0x3F8);
	CHECK_EQ_U64(c.grace_seconds, 0);
	CHECK(c.on_shutdown == SHUTDOWN_HALT);
	CHECK_EQ_I64(reports, 0);
}

TEST(reports_unknown_keys_and_bad_values_and_keeps_defaults)
{
	struct hv_config c;
	reports = 0;
	config_parse("colour=blue serial=0xzz grace=-1 on-shutdown=explode bare", &c, report);
	CHECK_EQ_I64(reports, 5);
	CHECK_STREQ(last_report, "bare: not key=value");
	CHECK_EQ_U64(c.serial_port, 0x2F8);
	CHECK_EQ_U64(c.grace_seconds, CONFIG_DEFAULT_GRACE_SECONDS);
	CHECK(c.on_shutdown == SHUTDOWN_POWEROFF);
	reports = 0;
	config_parse("grace=86401 serial=0", &c, report);
	CHECK_EQ_I64(reports, 2);
}

TEST(parses_the_chain_boot_keys)
{
	struct hv_config c;
	reports = 0;
	config_parse("", &c, report);
	CHECK(c.boot == BOOT_LINUX);
	CHECK_EQ_U64(c.chain_drive, 0x80);
	CHECK(c.drive_swap);
	CHECK(!c.grace_given);
	config_parse("boot=chain chain-drive=0x81 drive-swap=off grace=30", &c, report);
	CHECK_EQ_I64(reports, 0);
	CHECK(c.boot == BOOT_CHAIN);
	CHECK_EQ_U64(c.chain_drive, 0x81);
	CHECK(!c.drive_swap);
	CHECK(c.grace_given);
	config_parse("boot=floppy chain-drive=0x7f chain-drive=0x100 chain-drive=x drive-swap=yes", &c, report);
	CHECK_EQ_I64(reports, 5);
	CHECK(c.boot == BOOT_LINUX);
	CHECK_EQ_U64(c.chain_drive, 0x80);
	CHECK_STREQ(last_report, "drive-swap=yes: expected on or off");
}

TEST(parses_hotkey_bindings)
{
	struct hv_config c;
	reports = 0;
	config_parse("hotkeys=toggle:ctrl+shift+f9,down:alt+f1", &c, report);
	CHECK_EQ_I64(reports, 0);
	CHECK_EQ_U64(c.hotkeys.count, 2);
	CHECK(c.hotkeys.bindings[0].action == HOTKEY_TOGGLE);
	CHECK_EQ_U64(c.hotkeys.bindings[0].modifiers, HOTKEY_MOD_CTRL | HOTKEY_MOD_SHIFT);
	CHECK_EQ_U64(c.hotkeys.bindings[0].scancode, 0x43);
	CHECK_EQ_U64(c.hotkeys.bindings[1].scancode, 0x3B);
	config_parse("hotkeys=off", &c, report);
	CHECK_EQ_U64(c.hotkeys.count, 0);
	const char *bad[] = { "hotkeys=toggle", "hotkeys=jump:f1", "hotkeys=up:ctrl+f13",
			      "hotkeys=up:f1+ctrl", "hotkeys=up:ctrl", "hotkeys=up:f1,up:f2,up:f3,up:f4" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reports = 0;
		config_parse(bad[i], &c, report);
		CHECK_EQ_I64(reports, 1);
		CHECK_EQ_U64(c.hotkeys.count, 3); /* defaults kept */
	}
}

static struct hotkey_result feed_all(struct hotkeys *h, const uint8_t *bytes, size_t n, uint8_t *seen)
{
	struct hotkey_result r = { false, 0, HOTKEY_NONE }, last = r;
	for (size_t i = 0; i < n; i++) {
		r = hotkeys_feed(h, bytes[i]);
		seen[i] = r.swallow ? r.replacement : bytes[i];
		if (r.action != HOTKEY_NONE)
			last = r;
	}
	return last;
}

TEST(swallows_the_bound_key_and_passes_everything_else)
{
	struct hotkeys h;
	uint8_t seen[16];
	hotkeys_defaults(&h);
	/* Ctrl, Alt, F12 (with one typematic repeat), F12 up, Alt up, Ctrl up. */
	const uint8_t press[] = { 0x1D, 0x38, 0x58, 0x58, 0xD8, 0xB8, 0x9D };
	struct hotkey_result r = feed_all(&h, press, sizeof(press), seen);
	CHECK(r.action == HOTKEY_TOGGLE);
	CHECK_EQ_U64(seen[0], 0x1D);
	CHECK_EQ_U64(seen[2], 0xD8); /* F12 make -> release of a key never pressed */
	CHECK_EQ_U64(seen[3], 0xD8);
	CHECK_EQ_U64(seen[4], 0xD8);
	CHECK_EQ_U64(seen[6], 0x9D);
	/* F12 without modifiers reaches the guest. */
	const uint8_t plain[] = { 0x58, 0xD8 };
	r = feed_all(&h, plain, sizeof(plain), seen);
	CHECK(r.action == HOTKEY_NONE);
	CHECK_EQ_U64(seen[0], 0x58);
	/* Right Ctrl (E0 1D) + left Alt + F11 = up; extra Shift held = no match. */
	const uint8_t right[] = { 0xE0, 0x1D, 0x38, 0x57, 0xD7, 0xB8, 0xE0, 0x9D };
	r = feed_all(&h, right, sizeof(right), seen);
	CHECK(r.action == HOTKEY_UP);
	const uint8_t shifted[] = { 0x1D, 0x38, 0x2A, 0x44, 0xC4, 0xAA, 0xB8, 0x9D };
	r = feed_all(&h, shifted, sizeof(shifted), seen);
	CHECK(r.action == HOTKEY_NONE);
	CHECK_EQ_U64(seen[3], 0x44);
}

TEST(hotkey_speed_rules)
{
	uint64_t p, q;
	hotkeys_apply(HOTKEY_TOGGLE, 1, 1, &p, &q);
	CHECK_EQ_U64(p, 10);
	hotkeys_apply(HOTKEY_TOGGLE, 10, 1, &p, &q);
	CHECK_EQ_U64(p, 1);
	hotkeys_apply(HOTKEY_TOGGLE, 1, 2, &p, &q);
	CHECK_EQ_U64(p, 1);
	hotkeys_apply(HOTKEY_UP, 10, 1, &p, &q);
	CHECK_EQ_U64(p, 11);
	hotkeys_apply(HOTKEY_UP, 1, 2, &p, &q);
	CHECK_EQ_U64(p, 1);
	hotkeys_apply(HOTKEY_UP, 10000, 1, &p, &q);
	CHECK_EQ_U64(p, 10000);
	hotkeys_apply(HOTKEY_DOWN, 1, 1, &p, &q);
	CHECK_EQ_U64(p, 1);
	hotkeys_apply(HOTKEY_DOWN, 5, 2, &p, &q);
	CHECK_EQ_U64(p, 2);
	CHECK_EQ_U64(q, 1);
}

RUN_TESTS(UNIT_CASE(defaults_and_known_keys), UNIT_CASE(reports_unknown_keys_and_bad_values_and_keeps_defaults),
	  UNIT_CASE(parses_the_chain_boot_keys), UNIT_CASE(parses_hotkey_bindings), UNIT_CASE(swallows_the_bound_key_and_passes_everything_else),
	  UNIT_CASE(hotkey_speed_rules))
