import type { BlockDevice } from './drives.js';
import { walk } from './drives.js';
import type { ImageInfo } from './image.js';

/**
 * The safety policy: may this block device be overwritten with the image? Every rule that
 * refuses a device is checked, so an operator sees all reasons, most serious first. Pure
 * function of the device tree and the image: no I/O here, so every rule is unit-tested.
 */
export type RefusalCode =
  | 'partition'
  | 'virtual'
  | 'no-medium'
  | 'system'
  | 'swap'
  | 'holders'
  | 'mounted'
  | 'read-only'
  | 'holds-image'
  | 'too-small'
  | 'non-removable';

export interface Refusal {
  code: RefusalCode;
  message: string;
}

export interface Assessment {
  device: BlockDevice;
  verdict: 'eligible' | 'refused';
  /** The first refusal's message, or why the device is eligible. */
  reason: string;
  refusals: Refusal[];
  /** Automount points of the device's filesystems that flashing unmounts first. */
  unmount: string[];
}

export interface PolicyOptions {
  image?: ImageInfo;
  allowNonRemovable?: boolean;
  /** Test-only (TSX_HV_FLASH_ALLOW_LOOP): these loop devices count as removable disks. */
  allowLoop?: readonly string[];
}

/** Mount points that make a disk the system disk. */
export const SYSTEM_MOUNTPOINTS: readonly string[] = ['/', '/boot', '/boot/efi', '/efi', '/usr', '/var'];

/** Where desktops mount removable media: filesystems mounted here are unmounted, not refused. */
export const AUTOMOUNT_ROOTS: readonly string[] = ['/media/', '/run/media/'];

const VIRTUAL_NAME = /^(zram|ram|nbd|md|dm-)\d*/;

/** The smallest number of bytes the device must hold: the image rounded up to whole blocks. */
export function requiredBytes(imageSize: number, logicalBlockSize: number): number {
  return Math.ceil(imageSize / logicalBlockSize) * logicalBlockSize;
}

export function isAutomount(mountpoint: string): boolean {
  return AUTOMOUNT_ROOTS.some((root) => mountpoint.startsWith(root) && mountpoint.length > root.length);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

function virtualKind(d: BlockDevice): string | null {
  if (d.type === 'loop') return 'a loop device';
  if (d.type === 'rom') return 'an optical drive';
  if (d.type !== 'disk') return `a ${d.type} device, not a disk`;
  const m = VIRTUAL_NAME.exec(d.kname);
  if (m) return `a virtual ${m[1]} device`;
  return null;
}

function loopAllowed(d: BlockDevice, opts: PolicyOptions): boolean {
  return d.type === 'loop' && (opts.allowLoop ?? []).includes(d.path);
}

function holdsImage(d: BlockDevice, image: ImageInfo): string | null {
  for (const n of walk([d])) {
    if (n.majMin === image.fsMajMin || (image.fsSource !== null && n.path === image.fsSource)) {
      return `it holds the image file itself (${image.path} is on ${n.path})`;
    }
    if (image.deviceMajMin !== null && n.majMin === image.deviceMajMin) return `it is the image itself (${image.path})`;
    if (n.backingFile !== null && (n.backingFile === image.path || n.backingFile === `${image.path} (deleted)`)) {
      return `it is a loop device backed by the image file itself (${image.path})`;
    }
  }
  return null;
}

/** Assess one node of the tree. */
export function assess(d: BlockDevice, opts: PolicyOptions = {}): Assessment {
  const refusals: Refusal[] = [];
  const refuse = (code: RefusalCode, message: string): void => void refusals.push({ code, message });
  const allowedLoop = loopAllowed(d, opts);

  if (d.type === 'part') refuse('partition', `${d.path} is a partition, not a whole disk`);
  else if (!allowedLoop) {
    const kind = virtualKind(d);
    if (kind) refuse('virtual', `${d.path} is ${kind}`);
  }
  if (d.size === 0) refuse('no-medium', `${d.path} has no medium (size 0)`);

  const unmount: string[] = [];
  const mounted: string[] = [];
  for (const n of walk([d])) {
    for (const mp of n.mountpoints) {
      if (mp === '[SWAP]') refuse('swap', `${n.path} is in use as swap`);
      else if (SYSTEM_MOUNTPOINTS.includes(mp)) refuse('system', `it is a system disk: ${n.path} is mounted at ${mp}`);
      else if (isAutomount(mp)) unmount.push(mp);
      else mounted.push(`${n.path} at ${mp}`);
    }
    if (n !== d && n.type !== 'part') refuse('holders', `${n.path} (${n.type}) is built on it`);
  }
  if (mounted.length > 0) {
    refuse('mounted', `it has a filesystem mounted outside /media and /run/media, in use by the system: ${mounted.join(', ')}`);
  }
  if (d.readOnly) refuse('read-only', `${d.path} is read-only (write-protect switch, or a read-only device)`);
  if (opts.image) {
    const holds = holdsImage(d, opts.image);
    if (holds) refuse('holds-image', holds);
    const need = requiredBytes(opts.image.size, d.logicalBlockSize);
    if (d.size > 0 && d.size < need) {
      refuse('too-small', `${d.path} holds ${formatBytes(d.size)}, the image needs ${formatBytes(need)}`);
    }
  }
  const removableWhy = allowedLoop
    ? 'a loop device allowed by TSX_HV_FLASH_ALLOW_LOOP (test switch)'
    : d.removable
      ? 'removable medium'
      : d.transport === 'usb'
        ? 'USB drive'
        : d.hotplug
          ? 'hot-pluggable drive'
          : null;
  if (removableWhy === null && d.type !== 'part' && !opts.allowNonRemovable) {
    refuse('non-removable', `${d.path} is not removable and not on USB (${d.transport ?? 'no transport'}); pass --allow-non-removable if you really mean it`);
  }

  const order: RefusalCode[] = ['partition', 'virtual', 'no-medium', 'system', 'swap', 'holders', 'mounted', 'read-only', 'holds-image', 'too-small', 'non-removable'];
  refusals.sort((a, b) => order.indexOf(a.code) - order.indexOf(b.code));
  const eligibleWhy = removableWhy ?? 'non-removable disk allowed by --allow-non-removable';
  return {
    device: d,
    verdict: refusals.length === 0 ? 'eligible' : 'refused',
    reason: refusals[0]?.message ?? `eligible: ${eligibleWhy}`,
    refusals,
    unmount,
  };
}

/** Assess every node of the tree (disks and the partitions and holders under them). */
export function assessAll(devices: readonly BlockDevice[], opts: PolicyOptions = {}): Assessment[] {
  return [...walk(devices)].map((d) => assess(d, opts));
}
