import { UsageError } from '../errors.js';

/** SMBIOS system SKU (type 1) that makes the media's GRUB boot the baseline entry. */
export const BASELINE_SKU = 'tsx-hv:baseline';
/** SMBIOS system SKU that makes it boot the chain entry: the installed OS under the hypervisor (BIOS: the next disk's boot sector; UEFI: the firmware's next boot option). */
export const CHAIN_SKU = 'tsx-hv:chain';

export interface GrubConfigValues {
  /** Hypervisor command line (multiboot2 cmdline). */
  hvArgs: string;
  /** Guest kernel command line. */
  guestCmdline: string;
  /** Menu timeout in seconds. */
  timeout: number;
}

/** Fills images/media/grub.cfg.in. Every placeholder must be known and every one must be used. */
export function renderGrubConfig(template: string, values: GrubConfigValues): string {
  if (!Number.isInteger(values.timeout) || values.timeout < 0 || values.timeout > 600) {
    throw new UsageError(`GRUB timeout must be a whole number of seconds between 0 and 600, not ${values.timeout}`);
  }
  const map: Record<string, string> = {
    HV_ARGS: values.hvArgs,
    GUEST_CMDLINE: values.guestCmdline,
    TIMEOUT: String(values.timeout),
    BASELINE_SKU,
    CHAIN_SKU,
  };
  const used = new Set<string>();
  const out = template.replace(/@([A-Z_]+)@/g, (_m, key: string) => {
    const v = map[key];
    if (v === undefined) throw new UsageError(`unknown placeholder @${key}@ in the GRUB template`);
    used.add(key);
    return v;
  });
  const unused = Object.keys(map).filter((k) => !used.has(k));
  if (unused.length) throw new UsageError(`the GRUB template does not use ${unused.map((k) => `@${k}@`).join(', ')}`);
  return out;
}
