import { copyFile, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TsxHvError } from '../errors.js';
import { run } from '../util/run.js';

/** The Debian meta-package whose dependency names the current concrete kernel package. */
export const KERNEL_META_PACKAGE = 'linux-image-amd64';

export interface KernelPackage {
  name: string;
  version: string;
}

/**
 * From `apt-cache show --no-all-versions linux-image-amd64`: its Depends field names the concrete
 * package and pins its version, e.g. `Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)`.
 */
export function parseKernelPackage(output: string): KernelPackage {
  const m = /^Depends:.*?\b(linux-image-[0-9][^\s,]*-amd64)\s*\(=\s*([^)\s]+)\s*\)/m.exec(output);
  if (!m) {
    throw new TsxHvError('KERNEL_PACKAGE', `cannot find the kernel package behind ${KERNEL_META_PACKAGE} in apt-cache output`, {
      hint: 'run `apt-get update`, or pass your own kernel with --kernel FILE',
    });
  }
  return { name: m[1]!, version: m[2]! };
}

/** One apt-cache call (each one parses the package lists: seconds on a busy machine). */
export async function resolveKernelPackage(opts: { signal?: AbortSignal } = {}): Promise<KernelPackage> {
  const show = await run('apt-cache', ['show', '--no-all-versions', KERNEL_META_PACKAGE], { signal: opts.signal });
  return parseKernelPackage(show.stdout);
}

/** Cache directory of one package version (":" in epochs is not welcome in paths). */
export function kernelCacheDir(cache: string, pkg: KernelPackage): string {
  return join(cache, 'kernel', `${pkg.name}_${pkg.version.replace(/[^A-Za-z0-9.+~-]/g, '_')}`);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Downloads the package with `apt-get download`, unpacks it with `dpkg-deb -x` and keeps only
 * boot/vmlinuz-* in the cache. Returns the cached vmlinuz; a second call costs nothing.
 */
export async function fetchDebianKernel(cache: string, pkg: KernelPackage, opts: { signal?: AbortSignal } = {}): Promise<string> {
  const dir = kernelCacheDir(cache, pkg);
  const cached = join(dir, 'vmlinuz');
  if (await exists(cached)) return cached;
  await mkdir(dir, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'tsx-hv-kernel-'));
  try {
    await run('apt-get', ['download', `${pkg.name}=${pkg.version}`], { cwd: work, signal: opts.signal, hint: 'check network access to the Debian mirror, or pass --kernel FILE' });
    const deb = (await readdir(work)).find((f) => f.endsWith('.deb'));
    if (!deb) throw new TsxHvError('KERNEL_DOWNLOAD', `apt-get download ${pkg.name} produced no .deb file`);
    const tree = join(work, 'tree');
    await run('dpkg-deb', ['-x', join(work, deb), tree], { signal: opts.signal });
    const image = (await readdir(join(tree, 'boot'))).find((f) => f.startsWith('vmlinuz-'));
    if (!image) throw new TsxHvError('KERNEL_DOWNLOAD', `${deb} contains no boot/vmlinuz-*`);
    await copyFile(join(tree, 'boot', image), cached + '.part');
    await rename(cached + '.part', cached);
    return cached;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
