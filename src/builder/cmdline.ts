import { UsageError } from '../errors.js';

/**
 * The guest kernel command line: the console on the first serial port (where the agent talks),
 * `tsc=reliable` so Linux keeps the TSC as its clocksource whatever speed it runs at
 * (PLATFORM-FACTS.md, "Linux 6.1 guest timekeeping"), and few kernel messages on that console.
 */
export const BASE_GUEST_CMDLINE = ['console=ttyS0,115200', 'tsc=reliable', 'loglevel=4'] as const;

/** Characters that would break out of a GRUB command line argument. */
const UNSAFE = /[\n\r"'`$\\;{}]/;

export function checkArgs(what: string, value: string): string {
  if (UNSAFE.test(value)) {
    throw new UsageError(`${what} contains a character that cannot go on a boot command line: ${JSON.stringify(value)}`, 'use plain key=value words separated by spaces');
  }
  return value.trim().replace(/\s+/g, ' ');
}

export function guestCmdline(append?: string): string {
  const extra = append === undefined ? '' : checkArgs('--append', append);
  return [...BASE_GUEST_CMDLINE, ...(extra ? [extra] : [])].join(' ');
}

/** Hypervisor defaults (COMMON contract): its port is COM2. */
export const BASE_HV_ARGS = ['serial=0x2f8'] as const;

export function hypervisorArgs(extra?: string): string {
  const more = extra === undefined ? '' : checkArgs('--hv-args', extra);
  return [...BASE_HV_ARGS, ...(more ? [more] : [])].join(' ');
}
