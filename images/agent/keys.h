/* `tsx-hv-agent keys TTY SECONDS`: prints the raw scan codes typed on a Linux virtual console,
 * for checking what the keyboard delivers to the guest (the hypervisor's hotkeys must not). */
#ifndef TSX_HV_AGENT_KEYS_H
#define TSX_HV_AGENT_KEYS_H

/* Puts TTY (a virtual console, e.g. /dev/tty1) into scan code mode (KDSKBMODE K_RAW) with raw
 * termios, prints "keys: raw" and then each byte as two hex digits on a line of its own
 * (flushed at once) for `seconds` seconds, restores the console and returns 0; on an error it
 * prints it to stderr and returns 1. */
int keys_dump(const char *tty, int seconds);

#endif
