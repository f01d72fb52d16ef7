import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { TsxHvError } from '../errors.js';
import { run } from '../util/run.js';
import { BOOT_MOUNT_POINTS, matchDevice, parseBlkidExport, parseFstab, type BlockIdentity } from './fstab.js';
import { resolveInRoot } from './root-path.js';
import { DirTarget } from './target-dir.js';

/**
 * An offline disk image (raw or qcow2), mounted read-write on this machine and then provisioned
 * like a directory. libguestfs is not used: it boots a helper appliance, which is slow under
 * TCG-only hosts and needs a host kernel image; a loop mount is direct and needs only root.
 * - raw: `losetup -P` on the file.
 * - qcow2: qemu-storage-daemon exports the image as a raw file over FUSE (no nbd kernel module
 *   needed), and that file is loop-mounted. The daemon takes QEMU's own image locks, so an image
 *   a running QEMU has open is refused by QEMU itself as well.
 * An image in use is refused: attached to a loop device, open by any process (fuser), or locked
 * by QEMU (qemu-img info cannot take its shared lock).
 */
export class ImageInUseError extends TsxHvError {
  constructor(image: string, why: string) {
    super('IMAGE_IN_USE', `${image} is in use (${why}); provisioning it now could corrupt it`, { hint: 'shut down the machine using the image (or detach the loop device) and try again' });
    this.name = 'ImageInUseError';
  }
}

const LINUX_FILESYSTEMS = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs']);
const BOOT_FILESYSTEMS = new Set([...LINUX_FILESYSTEMS, 'vfat']);

export async function openImage(image: string): Promise<DirTarget> {
  const path = resolve(image);
  const st = await stat(path).catch(() => null);
  if (!st?.isFile()) throw new TsxHvError('TARGET_NOT_FOUND', `${image} is not a disk image file`);
  if (process.getuid?.() !== 0) throw new TsxHvError('NEEDS_ROOT', 'provisioning an image mounts it through a loop device, which needs root', { hint: 'run as root (sudo), or mount the image yourself and use dir:/mount/point' });
  const format = await imageFormat(path);
  await refuseInUse(path);

  const work = await mkdtemp(join(tmpdir(), 'tsx-hv-image-'));
  const cleanups: Array<() => Promise<void>> = [async () => rm(work, { recursive: true, force: true })];
  const cleanup = async (): Promise<void> => {
    while (cleanups.length > 0) await cleanups.pop()!();
  };
  try {
    const blockFile = format === 'qcow2' ? await exportQcow2(path, work, cleanups) : path;
    const loop = (await run('losetup', ['--partscan', '--find', '--show', blockFile])).stdout.trim();
    cleanups.push(async () => void (await run('losetup', ['-d', loop], { allowFailure: true })));
    const devices = await identify(await partitions(loop));
    const mnt = join(work, 'root');
    await mkdir(mnt);
    const root = await mountRoot(devices, mnt, cleanups);
    if (!root) throw new TsxHvError('NO_ROOT_FILESYSTEM', `no partition of ${image} holds a Linux root file system (etc/os-release)`, { hint: 'is this an installed Linux disk image?' });
    await mountBootPartitions(mnt, devices.filter((d) => d !== root), cleanups);
    return new DirTarget(mnt, `image:${image}`, 'image', cleanup);
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function imageFormat(path: string): Promise<'raw' | 'qcow2'> {
  const r = await run('qemu-img', ['info', '--output=json', path], { allowFailure: true });
  if (r.exitCode !== 0) {
    if (/lock/i.test(r.stderr)) throw new ImageInUseError(path, 'QEMU holds its image lock');
    throw new TsxHvError('BAD_IMAGE', `qemu-img cannot read ${path}: ${r.stderr.trim()}`);
  }
  const format = (JSON.parse(r.stdout) as { format: string }).format;
  if (format !== 'raw' && format !== 'qcow2') throw new TsxHvError('BAD_IMAGE', `${path} is a ${format} image; provision handles raw and qcow2`, { hint: `convert it: qemu-img convert -O qcow2 ${path} disk.qcow2` });
  return format;
}

async function refuseInUse(path: string): Promise<void> {
  const loops = (await run('losetup', ['-j', path])).stdout.trim();
  if (loops) throw new ImageInUseError(path, `attached to ${loops.split(':')[0]}`);
  const users = await run('fuser', [path], { allowFailure: true });
  if (users.exitCode === 0 && users.stdout.trim()) throw new ImageInUseError(path, `open by process ${users.stdout.trim().split(/\s+/).join(', ')}`);
}

async function exportQcow2(path: string, work: string, cleanups: Array<() => Promise<void>>): Promise<string> {
  const exported = join(work, 'export.raw');
  const pidFile = join(work, 'qsd.pid');
  await writeFile(exported, '');
  const r = await run(
    'qemu-storage-daemon',
    [
      '--daemonize',
      '--pidfile', pidFile,
      '--blockdev', `driver=file,node-name=file,filename=${path.replace(/,/g, ',,')}`,
      '--blockdev', 'driver=qcow2,node-name=disk,file=file',
      '--export', `type=fuse,id=export,node-name=disk,mountpoint=${exported.replace(/,/g, ',,')},writable=on`,
    ],
    { allowFailure: true },
  );
  if (r.exitCode !== 0) {
    if (/lock/i.test(r.stderr)) throw new ImageInUseError(path, 'QEMU holds its image lock');
    throw new TsxHvError('TOOL_FAILED', `qemu-storage-daemon could not export ${path}: ${r.stderr.trim()}`, { hint: 'qcow2 images need qemu-storage-daemon with FUSE support and /dev/fuse' });
  }
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  cleanups.push(async () => {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((res) => setTimeout(res, 50));
    // The daemon unmounts its export on exit, unless the kernel still held it busy then.
    if ((await run('mountpoint', ['-q', exported], { allowFailure: true })).exitCode === 0) await run('umount', [exported], { allowFailure: true });
  });
  return exported;
}

async function partitions(loop: string): Promise<string[]> {
  const name = basename(loop);
  // losetup --partscan does not always populate the partitions (seen on VM kernels without
  // udev); partx adds the missing ones and fails harmlessly on an unpartitioned image.
  await run('partx', ['-u', loop], { allowFailure: true });
  const parts = (await readdir(`/sys/block/${name}`)).filter((e) => e.startsWith(`${name}p`)).sort();
  const devices = parts.map((p) => `/dev/${p}`);
  for (const dev of devices) {
    for (let i = 0; i < 100 && !existsSync(dev); i++) await new Promise((res) => setTimeout(res, 50));
  }
  return devices.length > 0 ? devices : [loop];
}

async function identify(devices: string[]): Promise<Array<BlockIdentity>> {
  const out = [];
  for (const dev of devices) out.push(parseBlkidExport(dev, (await run('blkid', ['-o', 'export', dev], { allowFailure: true })).stdout));
  return out;
}

async function mount(device: string, at: string, cleanups: Array<() => Promise<void>>): Promise<void> {
  await run('mount', [device, at]);
  cleanups.push(async () => void (await run('umount', [at])));
}

async function mountRoot(devices: Array<BlockIdentity>, mnt: string, cleanups: Array<() => Promise<void>>): Promise<(BlockIdentity) | undefined> {
  for (const dev of devices) {
    if (!dev.type || !LINUX_FILESYSTEMS.has(dev.type)) continue;
    await mount(dev.device, mnt, cleanups);
    if (existsSync(join(mnt, 'etc/os-release')) || existsSync(join(mnt, 'usr/lib/os-release'))) return dev;
    await cleanups.pop()!();
  }
  return undefined;
}

async function mountBootPartitions(mnt: string, devices: Array<BlockIdentity>, cleanups: Array<() => Promise<void>>): Promise<void> {
  const fstab = await readFile(await resolveInRoot(mnt, '/etc/fstab', true), 'utf8').catch(() => '');
  const entries = parseFstab(fstab);
  for (const mountPoint of BOOT_MOUNT_POINTS) {
    const entry = entries.find((e) => e.mountPoint === mountPoint);
    const dev = entry && matchDevice(entry.spec, devices);
    if (!dev || !dev.type || !BOOT_FILESYSTEMS.has(dev.type)) continue;
    const at = await resolveInRoot(mnt, mountPoint, true);
    await mount(dev.device, at, cleanups);
  }
}
