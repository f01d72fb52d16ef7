import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

/**
 * Where the package's sources live and where a build puts its outputs (COMMON contract):
 * build/hv-core/tsx-hv.elf and tsx-hv-efi.elf, build/guest/{vmlinuz,initrd.img,tsx-hv-agent}, build/media/tsx-hv.iso,
 * build/cache/ (downloads, keyed by version), build/state.json (what was built from what).
 */
export interface BuildLayout {
  /** The package root: hv-core/, images/, native/ live here. */
  source: string;
  out: string;
  cache: string;
  hvCoreBuild: string;
  hvElf: string;
  /** The hypervisor for UEFI chain boot (boot services kept; multiboot2 from EFI GRUB). */
  hvEfiElf: string;
  guest: string;
  vmlinuz: string;
  initrd: string;
  agent: string;
  media: string;
  iso: string;
  state: string;
}

/** The package root: two levels above this file, both as src/builder/*.ts and dist/builder/*.js. */
export function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export function buildLayout(out?: string, source: string = packageRoot()): BuildLayout {
  const root = resolve(source, out ?? 'build');
  return {
    source,
    out: root,
    cache: join(root, 'cache'),
    hvCoreBuild: join(root, 'hv-core'),
    hvElf: join(root, 'hv-core', 'tsx-hv.elf'),
    hvEfiElf: join(root, 'hv-core', 'tsx-hv-efi.elf'),
    guest: join(root, 'guest'),
    vmlinuz: join(root, 'guest', 'vmlinuz'),
    initrd: join(root, 'guest', 'initrd.img'),
    agent: join(root, 'guest', 'tsx-hv-agent'),
    media: join(root, 'media'),
    iso: join(root, 'media', 'tsx-hv.iso'),
    state: join(root, 'state.json'),
  };
}
