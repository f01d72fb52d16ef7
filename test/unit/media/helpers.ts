import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { BlockDevice } from '../../../src/media/drives.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export const MiB = 1024 * 1024;

export function tmp(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'flash-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A real loop device over a file of `size` bytes of `fill`; detached in teardown. */
export async function loop(t: Teardown, dir: string, size: number, fill = 0xa5): Promise<string> {
  const file = join(dir, `dev-${Math.random().toString(36).slice(2)}.img`);
  writeFileSync(file, Buffer.alloc(size, fill));
  const dev = (await execa('losetup', ['-f', '--show', file])).stdout.trim();
  t.teardown(() => execa('losetup', ['-d', dev], { reject: false }));
  return dev;
}

/** A block device record with harmless defaults: a removable 1 GiB USB disk. */
export function device(overrides: Partial<BlockDevice> = {}): BlockDevice {
  return {
    name: 'sdz',
    kname: 'sdz',
    path: '/dev/sdz',
    majMin: '8:240',
    type: 'disk',
    size: 1024 * MiB,
    readOnly: false,
    removable: true,
    hotplug: true,
    transport: 'usb',
    vendor: 'Acme',
    model: 'Stick',
    serial: 'S123',
    fstype: null,
    label: null,
    fsused: null,
    pttype: null,
    mountpoints: [],
    logicalBlockSize: 512,
    backingFile: null,
    children: [],
    ...overrides,
  };
}
