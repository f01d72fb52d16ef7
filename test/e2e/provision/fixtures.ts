/**
 * Fixtures for the provision e2e tests: real Debian bookworm roots made by debootstrap, cached
 * as tarballs under build/cache/provision/ (the first build takes a few minutes, later runs
 * extract in seconds), raw disk images holding such a root, and a content hash of a whole tree
 * to prove that --revert is byte-identical.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runProgram as run } from '../../../src/util/run.js';
import { withBuildLock } from '../../../src/builder/lock.js';

export const REPO = resolve(import.meta.dirname, '../../..');
const CACHE = join(REPO, 'build/cache/provision');
const MIRROR = process.env.TSX_HV_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';

/** The two roots: systemd-timesyncd and chrony conflict in Debian, so each has its own. */
export const ROOTS = {
  timesyncd: ['systemd', 'systemd-sysv', 'grub-pc', 'systemd-timesyncd', 'openssh-server'],
  chrony: ['systemd', 'systemd-sysv', 'grub-pc', 'chrony', 'openssh-server'],
} as const;
export type RootName = keyof typeof ROOTS;

function tarball(name: RootName): string {
  return join(CACHE, `bookworm-${name}.tar.zst`);
}

async function buildRoot(name: RootName): Promise<void> {
  const work = join(CACHE, `${name}.build`);
  // One package cache per root: the two debootstraps run in parallel, and two processes
  // downloading and validating the same .deb in one directory corrupt each other's files.
  const debs = join(CACHE, `debs-${name}`);
  await mkdir(debs, { recursive: true });
  const args = ['--variant=minbase', `--cache-dir=${debs}`, `--include=${ROOTS[name].join(',')}`, 'bookworm', work, MIRROR];
  for (let attempt = 1; ; attempt++) {
    await rm(work, { recursive: true, force: true });
    try {
      await run('debootstrap', args, { timeout: 1_800_000 });
      break;
    } catch (err) {
      // A mirror hiccup (debootstrap gives up on a download after its own retries) is worth
      // one more attempt; the package cache keeps what was already fetched.
      if (attempt >= 2) throw err;
    }
  }
  await run('tar', ['--zstd', '-C', work, '--numeric-owner', '-cf', `${tarball(name)}.tmp`, '.']);
  await run('mv', [`${tarball(name)}.tmp`, tarball(name)]);
  await rm(work, { recursive: true, force: true });
}

/**
 * Build whatever root is not cached yet, both in parallel, one test process at a time (the
 * build lock: a lock left by a killed run is taken over). Both builds are waited for before the
 * lock is released, even when one fails, so no debootstrap outlives its lock.
 */
export async function ensureRoots(): Promise<void> {
  await withBuildLock(CACHE, async () => {
    const results = await Promise.allSettled((Object.keys(ROOTS) as RootName[]).filter((n) => !existsSync(tarball(n))).map(buildRoot));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }, 2000);
}

/** A fresh copy of a cached root in a new temporary directory. */
export async function freshRoot(name: RootName, into?: string): Promise<string> {
  await ensureRoots();
  const dir = into ?? (await mkdtemp(join(tmpdir(), `provision-e2e-${name}-`)));
  await run('tar', ['--zstd', '-C', dir, '--numeric-owner', '-xpf', tarball(name)]);
  return dir;
}

/**
 * A hash of every path below `root`: type, mode, owner, link target and file bytes. Two equal
 * hashes mean byte-identical trees (mtimes excluded: a restore writes files anew).
 */
export async function treeHash(root: string, exclude: readonly string[] = []): Promise<string> {
  const h = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const p = join(dir, name);
      const rel = p.slice(root.length);
      if (exclude.includes(rel)) continue;
      const st = await lstat(p);
      h.update(`${rel}\0${st.mode}\0${st.uid}\0${st.gid}\0`);
      if (st.isSymbolicLink()) h.update(await readlink(p));
      else if (st.isFile()) h.update(await readFile(p));
      else if (st.isDirectory()) await walk(p);
      h.update('\0');
    }
  };
  await walk(root);
  return h.digest('hex');
}

/** systemctl --root ROOT is-enabled UNIT (masked, enabled, disabled, ...). */
export async function isEnabled(root: string, unit: string): Promise<string> {
  return (await run('systemctl', [`--root=${root}`, 'is-enabled', unit], { allowFailure: true })).stdout.trim();
}

/**
 * A raw disk image with an MBR partition table: partition 1 ext4 holding the root (fstab by
 * UUID), as an installer would leave it. Returns the image path.
 */
export async function rawImageWithRoot(name: RootName, dir: string, sizeMiB = 1024): Promise<string> {
  const image = join(dir, `${name}.raw`);
  await run('truncate', ['-s', `${sizeMiB}M`, image]);
  await run('parted', ['-s', image, 'mklabel', 'msdos', 'mkpart', 'primary', 'ext4', '1MiB', '100%']);
  const loop = (await run('losetup', ['--partscan', '--find', '--show', image])).stdout.trim();
  const mnt = join(dir, 'mnt');
  await mkdir(mnt, { recursive: true });
  try {
    await run('partx', ['-u', loop], { allowFailure: true });
    const part = `${loop}p1`;
    for (let i = 0; i < 100 && !existsSync(part); i++) await new Promise((res) => setTimeout(res, 50));
    await run('mkfs.ext4', ['-q', '-L', 'root', part]);
    await run('mount', [part, mnt]);
    try {
      await run('tar', ['--zstd', '-C', mnt, '--numeric-owner', '-xpf', tarball(name)]);
      const uuid = (await run('blkid', ['-o', 'value', '-s', 'UUID', part])).stdout.trim();
      await writeFile(join(mnt, 'etc/fstab'), `UUID=${uuid} / ext4 errors=remount-ro 0 1\n`);
    } finally {
      await run('umount', [mnt]);
    }
  } finally {
    await run('losetup', ['-d', loop]);
  }
  return image;
}

/** Mount partition 1 of an image read-only, run `fn` on the mount point, clean up. */
export async function withImageRoot<T>(image: string, fn: (root: string) => Promise<T>): Promise<T> {
  const loop = (await run('losetup', ['--partscan', '--find', '--show', '--read-only', image])).stdout.trim();
  const mnt = await mkdtemp(join(tmpdir(), 'provision-e2e-mnt-'));
  try {
    await run('partx', ['-u', loop], { allowFailure: true });
    const part = `${loop}p1`;
    for (let i = 0; i < 100 && !existsSync(part); i++) await new Promise((res) => setTimeout(res, 50));
    await run('mount', ['-o', 'ro', part, mnt]);
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
