import { copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from '../util/run.js';

export interface MediaInputs {
  hvElf: string;
  /** The hypervisor image UEFI GRUB's chain entry starts (boot services kept). */
  hvEfiElf: string;
  vmlinuz: string;
  initrd: string;
  grubCfg: string;
}

/** Paths on the media (docs/media-layout.md, COMMON contract). */
export const MEDIA_PATHS = {
  hvElf: 'boot/tsx-hv.elf',
  hvEfiElf: 'boot/tsx-hv-efi.elf',
  vmlinuz: 'boot/vmlinuz',
  initrd: 'boot/initrd.img',
  grubCfg: 'boot/grub/grub.cfg',
} as const;

/**
 * A hybrid ISO with grub-mkrescue: El Torito + MBR for BIOS (grub-pc-bin) and an EFI system
 * partition image for UEFI (grub-efi-amd64-bin), so it boots from CD, from a disk image and when
 * written to a USB stick.
 */
export async function makeIso(inputs: MediaInputs, iso: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
  const tree = await mkdtemp(join(tmpdir(), 'tsx-hv-media-'));
  try {
    await mkdir(join(tree, 'boot', 'grub'), { recursive: true });
    await copyFile(inputs.hvElf, join(tree, MEDIA_PATHS.hvElf));
    await copyFile(inputs.hvEfiElf, join(tree, MEDIA_PATHS.hvEfiElf));
    await copyFile(inputs.vmlinuz, join(tree, MEDIA_PATHS.vmlinuz));
    await copyFile(inputs.initrd, join(tree, MEDIA_PATHS.initrd));
    await writeFile(join(tree, MEDIA_PATHS.grubCfg), inputs.grubCfg);
    await mkdir(dirname(iso), { recursive: true });
    await run('grub-mkrescue', ['-o', iso + '.part', tree], {
      signal: opts.signal,
      hint: 'grub-mkrescue needs grub-pc-bin, grub-efi-amd64-bin, xorriso and mtools (`tsx-hv doctor --install`)',
    });
    await rename(iso + '.part', iso);
  } finally {
    await rm(tree, { recursive: true, force: true });
  }
}
