/**
 * A Debian bookworm disk that boots by itself, under BIOS and under UEFI, as an installer leaves
 * one: an MBR partition table, one ext4 root (partition 1, fstab by UUID), Debian's kernel and
 * initramfs, systemd, sshd with DHCP on its Ethernet port (systemd-networkd), GRUB (grub-pc)
 * installed in the MBR and its gap with a grub.cfg made by grub-mkconfig, and an EFI system
 * partition (partition 2, type EF) whose removable-media loader \EFI\BOOT\BOOTX64.EFI is an
 * x86_64-efi GRUB that finds the root by UUID and reads the same /boot/grub/grub.cfg (its modules
 * in /boot/grub/x86_64-efi). The ESP is made with mtools: this host's kernel has no vfat. Made once with
 * debootstrap and cached as a sparse raw image in build/cache/disk/ (a few minutes the first time);
 * each test works on its own copy.
 *
 * grub-install and grub-mkconfig run inside the new root (chroot). They need the disk's devices:
 * a tmpfs /dev holding only the loop device, its partition and /dev/disk/by-uuid (no host /dev,
 * so nothing of the host's disks can leak into the configuration), and a device.map naming the
 * loop device (hd0), without which grub-install cannot find "a GRUB drive" for a loop device.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { runProgram as run } from '../../../src/util/run.js';
import { withBuildLock } from '../../../src/builder/lock.js';

export const REPO = resolve(import.meta.dirname, '../../..');
const CACHE = join(REPO, 'build/cache/disk');
/** Bump when what the image holds changes: a cached image of another version is not used. */
const IMAGE_VERSION = 4;
export const BIOS_IMAGE = join(CACHE, `bookworm-bios-uefi-v${IMAGE_VERSION}.raw`);
const DISK_MIB = 2048;
/** The ESP's size, at the end of the disk. */
const ESP_MIB = 64;
const MIRROR = process.env.TSX_HV_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const PACKAGES = ['systemd', 'systemd-sysv', 'udev', 'kmod', 'grub-pc', 'linux-image-amd64', 'initramfs-tools', 'openssh-server', 'python3'];
/** The kernel command line the installed system has of its own (a lab machine with a serial console). */
export const OWN_CMDLINE = 'console=ttyS0,115200';

async function waitForPath(path: string): Promise<void> {
  for (let i = 0; i < 100 && !existsSync(path); i++) await new Promise((res) => setTimeout(res, 50));
}

async function debootstrap(work: string): Promise<void> {
  const debs = join(CACHE, 'debs');
  await mkdir(debs, { recursive: true });
  const args = ['--variant=minbase', `--cache-dir=${debs}`, `--include=${PACKAGES.join(',')}`, 'bookworm', work, MIRROR];
  for (let attempt = 1; ; attempt++) {
    await rm(work, { recursive: true, force: true });
    try {
      await run('debootstrap', args, { timeout: 1_800_000 });
      return;
    } catch (err) {
      if (attempt >= 2) throw err; // a mirror hiccup is worth one more attempt
    }
  }
}

async function buildImage(): Promise<void> {
  const work = join(CACHE, 'root.build');
  await debootstrap(work);
  const image = `${BIOS_IMAGE}.tmp`;
  await rm(image, { force: true });
  await run('truncate', ['-s', `${DISK_MIB}M`, image]);
  const espStart = DISK_MIB - ESP_MIB - 1;
  await run('parted', ['-s', image, 'mklabel', 'msdos', 'mkpart', 'primary', 'ext4', '1MiB', `${espStart}MiB`, 'set', '1', 'boot', 'on',
    'mkpart', 'primary', 'fat32', `${espStart}MiB`, `${DISK_MIB - 1}MiB`, 'set', '2', 'esp', 'on']);
  const loop = (await run('losetup', ['--partscan', '--find', '--show', image])).stdout.trim();
  const mnt = await mkdtemp(join(tmpdir(), 'disk-fixture-'));
  const mounted: string[] = [];
  try {
    await run('partx', ['-u', loop], { allowFailure: true });
    const part = `${loop}p1`;
    await waitForPath(part);
    await run('mkfs.ext4', ['-q', '-L', 'root', part]);
    await run('mount', [part, mnt]);
    mounted.push(mnt);
    await run('cp', ['-a', `${work}/.`, mnt]);
    const uuid = (await run('blkid', ['-o', 'value', '-s', 'UUID', part])).stdout.trim();
    await writeFile(join(mnt, 'etc/fstab'), `UUID=${uuid} / ext4 errors=remount-ro 0 1\n`);
    await writeFile(join(mnt, 'etc/hostname'), 'tsxhv-disk\n');
    // DHCP on the first Ethernet interface (systemd-networkd), so sshd is reachable.
    await writeFile(join(mnt, 'etc/systemd/network/20-dhcp.network'), '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n');
    await run('systemctl', [`--root=${mnt}`, 'enable', 'systemd-networkd.service']);
    const grubDefault = await readFile(join(mnt, 'etc/default/grub'), 'utf8');
    await writeFile(join(mnt, 'etc/default/grub'), grubDefault.replace(/^GRUB_TIMEOUT=.*$/m, 'GRUB_TIMEOUT=1').replace(/^GRUB_CMDLINE_LINUX=.*$/m, `GRUB_CMDLINE_LINUX="${OWN_CMDLINE}"`));
    // The devices grub-install and grub-mkconfig look at, and nothing else.
    const dev = join(mnt, 'dev');
    await run('mount', ['-t', 'tmpfs', '-o', 'mode=755', 'tmpfs', dev]);
    mounted.push(dev);
    await run('cp', ['-a', '/dev/null', '/dev/zero', '/dev/random', '/dev/urandom', loop, part, dev]);
    await mkdir(join(dev, 'disk/by-uuid'), { recursive: true });
    await run('ln', ['-s', `../../${basename(part)}`, join(dev, 'disk/by-uuid', uuid)]);
    for (const fs of ['proc', 'sys']) {
      await run('mount', ['--bind', `/${fs}`, join(mnt, fs)]);
      mounted.push(join(mnt, fs));
    }
    await writeFile(join(mnt, 'boot/grub/device.map'), `(hd0) ${loop}\n`);
    await run('chroot', [mnt, 'grub-install', '--target=i386-pc', loop]);
    await run('chroot', [mnt, 'grub-mkconfig', '-o', '/boot/grub/grub.cfg']);
    await rm(join(mnt, 'boot/grub/device.map'));
    const cfg = await readFile(join(mnt, 'boot/grub/grub.cfg'), 'utf8');
    if (!cfg.includes(`root=UUID=${uuid}`)) throw new Error(`the fixture's grub.cfg does not boot root=UUID=${uuid}`);
    await installEfiLoader(mnt, `${loop}p2`, uuid);
  } finally {
    for (const m of mounted.reverse()) await run('umount', [m], { allowFailure: true });
    await run('losetup', ['-d', loop], { allowFailure: true });
    await rm(mnt, { recursive: true, force: true });
  }
  await run('mv', [image, BIOS_IMAGE]);
  await rm(work, { recursive: true, force: true });
}

/**
 * UEFI: the ESP (FAT, through mtools) with \EFI\BOOT\BOOTX64.EFI, a GRUB core image made by the
 * host's grub-mkimage (bookworm's GRUB, as in the image) whose embedded config finds the root by
 * UUID and continues with the root's /boot/grub (grub.cfg and the x86_64-efi modules copied
 * there). The system's own grub.cfg, regenerated by update-grub, serves both firmwares.
 */
async function installEfiLoader(mnt: string, esp: string, rootUuid: string): Promise<void> {
  await waitForPath(esp);
  await run('mkfs.vfat', ['-F', '32', '-n', 'ESP', esp]);
  await run('cp', ['-r', '/usr/lib/grub/x86_64-efi', join(mnt, 'boot/grub/x86_64-efi')]);
  const dir = await mkdtemp(join(tmpdir(), 'disk-fixture-efi-'));
  try {
    const early = join(dir, 'early.cfg');
    await writeFile(early, `search --no-floppy --fs-uuid --set=root ${rootUuid}\nset prefix=($root)/boot/grub\n`);
    const loader = join(dir, 'BOOTX64.EFI');
    await run('grub-mkimage', ['-O', 'x86_64-efi', '-o', loader, '-c', early, '-p', '/boot/grub', 'part_msdos', 'part_gpt', 'ext2', 'search', 'search_fs_uuid', 'normal', 'configfile']);
    await run('mmd', ['-i', esp, '::/EFI', '::/EFI/BOOT']);
    await run('mcopy', ['-i', esp, loader, '::/EFI/BOOT/BOOTX64.EFI']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Build the cached image unless it is there (one test process at a time: the build lock). */
export async function ensureBootableImage(): Promise<string> {
  await mkdir(CACHE, { recursive: true });
  await withBuildLock(CACHE, async () => {
    if (!existsSync(BIOS_IMAGE)) await buildImage();
  }, 2000);
  return BIOS_IMAGE;
}

/** A fresh sparse copy of the cached image in `dir`. */
export async function freshDisk(dir: string, name = 'disk.raw'): Promise<string> {
  const source = await ensureBootableImage();
  const copy = join(dir, name);
  await run('cp', ['--sparse=always', source, copy]);
  return copy;
}

/**
 * Mount the disk's root (partition 1) and run `fn` on it. Read-write: after a machine that did
 * not shut down cleanly, ext4 replays its journal on mount, as the next boot would (a read-only
 * loop device could not be mounted at all then).
 */
export async function withDiskRoot<T>(image: string, fn: (root: string) => Promise<T>): Promise<T> {
  const loop = (await run('losetup', ['--partscan', '--find', '--show', image])).stdout.trim();
  const mnt = await mkdtemp(join(tmpdir(), 'disk-e2e-mnt-'));
  try {
    await run('partx', ['-u', loop], { allowFailure: true });
    const part = `${loop}p1`;
    await waitForPath(part);
    await run('mount', [part, mnt]);
    try {
      return await fn(mnt);
    } finally {
      await run('umount', [mnt]);
    }
  } finally {
    await run('losetup', ['-d', loop]);
    await rm(mnt, { recursive: true, force: true });
  }
}
