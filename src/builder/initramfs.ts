import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { writeNewc, type CpioEntry } from './cpio.js';

export interface InitramfsInputs {
  /** The /init script (images/guest-linux/init). */
  init: Uint8Array;
  /** A statically linked busybox (Debian's busybox-static: /bin/busybox). */
  busybox: Uint8Array;
  /** The static guest agent (build/guest/tsx-hv-agent). */
  agent: Uint8Array;
}

export const BUSYBOX_STATIC = '/bin/busybox';

/**
 * The guest's file tree: busybox (its applet links are made by /init at boot), /init, the agent,
 * and /dev/console so the kernel can give /init its stdio before devtmpfs is mounted.
 */
export function initramfsEntries(inputs: InitramfsInputs): CpioEntry[] {
  return [
    ...['bin', 'sbin', 'dev', 'proc', 'sys', 'tmp', 'run', 'usr', 'usr/bin', 'usr/sbin'].map((path): CpioEntry => ({ kind: 'dir', path })),
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { kind: 'file', path: 'bin/busybox', data: inputs.busybox, mode: 0o755 },
    { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
    { kind: 'file', path: 'init', data: inputs.init, mode: 0o755 },
    { kind: 'file', path: 'sbin/tsx-hv-agent', data: inputs.agent, mode: 0o755 },
  ];
}

/** A gzip-compressed newc cpio archive, as the kernel expects for an initramfs. */
export function initramfsImage(inputs: InitramfsInputs): Buffer {
  return gzipSync(writeNewc(initramfsEntries(inputs)), { level: 9 });
}

export async function readBusybox(path = BUSYBOX_STATIC): Promise<Buffer> {
  return readFile(path);
}
