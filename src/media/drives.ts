import { readFile, stat } from 'node:fs/promises';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../util/run.js';
import { FlashError, describeCause } from './errors.js';

/**
 * One node of the machine's block-device tree, as `lsblk -J -b -O` reports it plus what only
 * sysfs knows (the loop backing file, the queue's logical block size). Children are partitions
 * and holders (device-mapper, md RAID) stacked on top of this node, as lsblk nests them.
 */
export interface BlockDevice {
  name: string;
  kname: string;
  path: string;
  /** "major:minor", the identity used to match mounts, images and paths to a node. */
  majMin: string;
  /** lsblk TYPE: disk, part, loop, rom, lvm, crypt, raid1, ... */
  type: string;
  size: number;
  readOnly: boolean;
  /** sysfs "removable": describes the medium; real USB sticks often report 0. */
  removable: boolean;
  /** lsblk HOTPLUG: the device sits on a hot-pluggable bus (USB, PCMCIA, ...). */
  hotplug: boolean;
  transport: string | null;
  vendor: string | null;
  model: string | null;
  serial: string | null;
  fstype: string | null;
  label: string | null;
  fsused: number | null;
  pttype: string | null;
  mountpoints: string[];
  logicalBlockSize: number;
  /** The file behind a loop device, from sysfs loop/backing_file. */
  backingFile: string | null;
  children: BlockDevice[];
}

type LsblkNode = Record<string, unknown> & { children?: LsblkNode[] };

function str(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return t === '' ? null : t;
}

function num(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v.trim())) return Number(v.trim());
  return null;
}

/** lsblk prints booleans as true/false since util-linux 2.33 and as "0"/"1" before. */
function bool(v: unknown): boolean {
  return v === true || v === 1 || v === '1';
}

function mountpointsOf(node: LsblkNode): string[] {
  const list = Array.isArray(node.mountpoints) ? node.mountpoints : [node.mountpoint];
  return list.filter((m): m is string => typeof m === 'string' && m !== '');
}

/** Parse `lsblk -J -b -O` output into the device tree (no sysfs yet). */
export function parseLsblk(json: string): BlockDevice[] {
  let doc: { blockdevices?: LsblkNode[] };
  try {
    doc = JSON.parse(json) as { blockdevices?: LsblkNode[] };
  } catch (err) {
    throw new FlashError('discover', `lsblk printed something that is not JSON (${(err as Error).message})`);
  }
  if (!doc || !Array.isArray(doc.blockdevices)) throw new FlashError('discover', 'lsblk JSON has no "blockdevices" array');
  return doc.blockdevices.map(toDevice);
}

function toDevice(node: LsblkNode): BlockDevice {
  const name = str(node.name) ?? '?';
  const kname = str(node.kname) ?? name;
  return {
    name,
    kname,
    path: str(node.path) ?? `/dev/${kname}`,
    majMin: str(node['maj:min']) ?? '',
    type: str(node.type) ?? 'unknown',
    size: num(node.size) ?? 0,
    readOnly: bool(node.ro),
    removable: bool(node.rm),
    hotplug: bool(node.hotplug),
    transport: str(node.tran),
    vendor: str(node.vendor),
    model: str(node.model),
    serial: str(node.serial),
    fstype: str(node.fstype),
    label: str(node.label),
    fsused: num(node.fsused),
    pttype: str(node.pttype),
    mountpoints: mountpointsOf(node),
    logicalBlockSize: num(node['log-sec']) ?? 512,
    backingFile: null,
    children: (node.children ?? []).map(toDevice),
  };
}

async function readSysfs(sysBlock: string, kname: string, attr: string): Promise<string | null> {
  try {
    return (await readFile(join(sysBlock, kname, attr), 'utf8')).trim();
  } catch {
    return null;
  }
}

/**
 * Fill in what lsblk does not say, from sysfs: the loop backing file, and the removable, ro and
 * logical-block-size attributes (re-read, because they are what the kernel enforces).
 */
export async function addSysfsFacts(devices: BlockDevice[], sysBlock = '/sys/class/block'): Promise<void> {
  for (const d of devices) {
    const removable = await readSysfs(sysBlock, d.kname, 'removable');
    if (removable !== null) d.removable = removable === '1';
    const ro = await readSysfs(sysBlock, d.kname, 'ro');
    if (ro !== null) d.readOnly = d.readOnly || ro === '1';
    const lbs = await readSysfs(sysBlock, d.kname, 'queue/logical_block_size');
    if (lbs !== null && /^\d+$/.test(lbs)) d.logicalBlockSize = Number(lbs);
    d.backingFile = await readSysfs(sysBlock, d.kname, 'loop/backing_file');
    await addSysfsFacts(d.children, sysBlock);
  }
}

/** Parse `blkid -p -o export` output (KEY=value lines). */
export function parseBlkidExport(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/**
 * lsblk takes filesystem types and labels from the udev database; on a machine without udev
 * (containers, minimal VMs) it has none, and the card could not say what will be lost. Probe
 * those nodes directly with blkid (it reads the superblocks; root only, which flashing needs).
 */
export async function addProbedFilesystems(devices: BlockDevice[]): Promise<void> {
  const unknown = [...walk(devices)].filter((d) => d.fstype === null && d.pttype === null && d.size > 0);
  await Promise.all(
    unknown.map(async (d) => {
      const r = await run('blkid', ['-p', '-o', 'export', d.path], { allowFailure: true });
      const found = parseBlkidExport(r.stdout);
      d.fstype = found.TYPE ?? null;
      d.label = found.LABEL ?? null;
      d.pttype = found.PTTYPE ?? null;
    }),
  );
}

/** Every block device on the machine, as a tree. */
export async function discoverDevices(): Promise<BlockDevice[]> {
  const r = await run('lsblk', ['-J', '-b', '-O'], { hint: 'lsblk is part of util-linux' });
  const devices = parseLsblk(r.stdout);
  await addSysfsFacts(devices);
  await addProbedFilesystems(devices);
  return devices;
}

/** Depth-first walk: the node, then everything stacked on it. */
export function* walk(devices: readonly BlockDevice[]): Generator<BlockDevice> {
  for (const d of devices) {
    yield d;
    yield* walk(d.children);
  }
}

/** "major:minor" of a dev_t as Linux/glibc encode it (see makedev(3)). */
export function majMinOf(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  return `${major}:${minor}`;
}

/**
 * Find the node a user named (`/dev/sdb`, `sdb`, or a /dev/disk/by-id link) by the device number
 * of the block special file, so that every spelling of the same device matches the same node.
 */
export async function resolveDeviceArgument(arg: string, devices: readonly BlockDevice[]): Promise<BlockDevice> {
  const candidate = arg.includes('/') ? arg : `/dev/${arg}`;
  let path: string;
  try {
    path = await realpath(candidate);
  } catch (err) {
    throw new FlashError('discover', `${arg}: no such device (${describeCause(err)})`, {
      code: 'NO_SUCH_DEVICE',
      hint: 'run `tsx-hv flash --list` to see the disks on this machine',
    });
  }
  const st = await stat(path, { bigint: true });
  if (!st.isBlockDevice()) {
    throw new FlashError('discover', `${arg} is not a block device`, {
      code: 'NOT_A_BLOCK_DEVICE',
      hint: 'name a whole disk such as /dev/sdb; run `tsx-hv flash --list` to see the disks',
    });
  }
  const majMin = majMinOf(st.rdev);
  for (const d of walk(devices)) if (d.majMin === majMin) return d;
  throw new FlashError('discover', `${arg} (${majMin}) is not in lsblk's list of block devices`, { code: 'NO_SUCH_DEVICE' });
}
