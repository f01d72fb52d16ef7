import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { checkArgs, hypervisorArgs } from '../builder/cmdline.js';
import { compileHvCore } from '../builder/compile.js';
import { buildLayout, packageRoot, type BuildLayout } from '../builder/layout.js';
import { withBuildLock } from '../builder/lock.js';
import { TsxHvError, UsageError } from '../errors.js';
import type { BootLoader } from './action-cmdline.js';
import { parseFstab } from './fstab.js';
import { shellQuote } from './shell-quote.js';
import type { Target } from './target.js';
import type { ActionPlan, Change, Operation } from './types.js';

/**
 * The hypervisor action (`--hypervisor`): a boot entry on the target's own disk that starts the
 * tsx-hv hypervisor with the installed kernel, so a machine boots accelerated without a stick.
 *
 * - The hypervisor image goes to /boot/tsx-hv/tsx-hv.elf.
 * - /etc/grub.d/42_tsx-hv (images/disk/42_tsx-hv) makes one menu entry per installed kernel at
 *   every update-grub, with the kernel's initrd and Debian's kernel command line, so a kernel
 *   update keeps working. The newest kernel's entry has the id `tsx-hv`.
 * - `trial`: `grub-reboot tsx-hv`, the next boot only (GRUB clears next_entry in grubenv when it
 *   boots it; a boot that fails comes back to the previous default on the following reset).
 * - `makeDefault`: /etc/default/grub.d/tsx-hv.cfg sets GRUB_DEFAULT=tsx-hv.
 * - update-grub then regenerates grub.cfg. Offline (a directory or image: no devices in the
 *   chroot, as for the kernel command line), the script is run by itself with the root and /boot
 *   file systems' UUIDs from the target's fstab and its entries are appended to the existing
 *   grub.cfg between grub-mkconfig's own BEGIN/END markers (and the header's default set to
 *   `tsx-hv` for makeDefault), so the first boot already has them.
 *
 * Every file is recorded in provision's manifest first, so `--revert` returns the disk to its
 * previous boot, byte for byte (docs/provision.md, "Booting the disk under tsx-hv").
 */
export const HV_IMAGE_PATH = '/boot/tsx-hv/tsx-hv.elf';
export const GRUB_SCRIPT_PATH = '/etc/grub.d/42_tsx-hv';
export const DEFAULT_DROP_IN = '/etc/default/grub.d/tsx-hv.cfg';
export const ENTRY_ID = 'tsx-hv';
const GRUB_CFG = '/boot/grub/grub.cfg';
const GRUBENV = '/boot/grub/grubenv';
const BEGIN = `### BEGIN ${GRUB_SCRIPT_PATH} ###`;
const END = `### END ${GRUB_SCRIPT_PATH} ###`;

/**
 * Hypervisor arguments for a disk entry: the clock is not armed from guest start (`grace=0`):
 * boot menus and firmware would arm it before the OS calibrated its clocks; the installed agent
 * arms it once Linux has (docs/guest-image.md, "Auto-arm"), or the control port or a hotkey does.
 */
export const DISK_HV_ARGS = 'grace=0';

export interface HypervisorSources {
  /** The hypervisor image; default build/hv-core/tsx-hv.elf, built from hv-core when absent. */
  image?: string;
  /** More hypervisor command line arguments (after serial=0x2f8 grace=0). */
  hvArgs?: string;
  /** Boot the hypervisor entry once, at the next boot (grub-reboot). */
  trial?: boolean;
  /** Make the hypervisor entry the default (GRUB_DEFAULT=tsx-hv). */
  makeDefault?: boolean;
}

/** The hypervisor image to install: `given`, or the build's, compiled first when absent. */
export async function hypervisorImage(given?: string, layout: BuildLayout = buildLayout()): Promise<string> {
  if (given) {
    if (!existsSync(given)) throw new TsxHvError('HYPERVISOR_MISSING', `hypervisor image ${given} does not exist`);
    return resolve(given);
  }
  // Under the build lock: a `tsx-hv build` running at the same time may be writing the ELF.
  await withBuildLock(layout.out, async () => {
    if (!existsSync(layout.hvElf)) await compileHvCore(layout.source, layout.hvCoreBuild);
  });
  return layout.hvElf;
}

/** The grub.d script with the hypervisor arguments filled in. */
export async function grubScript(hvArgs: string): Promise<Buffer> {
  const template = await readFile(join(packageRoot(), 'images/disk/42_tsx-hv'), 'utf8');
  if (!template.includes('@HV_ARGS@')) throw new TsxHvError('HYPERVISOR_MISSING', 'images/disk/42_tsx-hv has no @HV_ARGS@ placeholder');
  return Buffer.from(template.replace('@HV_ARGS@', hvArgs));
}

/** The hypervisor command line of a disk entry (checked like `build --hv-args`). */
export function diskHypervisorArgs(extra?: string): string {
  return hypervisorArgs([DISK_HV_ARGS, ...(extra === undefined ? [] : [checkArgs('--hv-args', extra)])].join(' '));
}

/** UUID of the file system fstab mounts at `mountPoint` (only UUID= specs: what installers write). */
function fstabUuid(fstab: string, mountPoint: string): string | undefined {
  const entry = parseFstab(fstab).find((e) => e.mountPoint === mountPoint);
  const m = entry && /^UUID=([0-9A-Fa-f-]+)$/.exec(entry.spec);
  return m ? m[1] : undefined;
}

/** Whether grub.cfg already holds this script's entries. */
export function grubCfgHasEntry(cfg: string): boolean {
  return cfg.includes(BEGIN) && new RegExp(`^\\s*menuentry .*--id ${ENTRY_ID} `, 'm').test(cfg);
}

/**
 * The offline fallback of update-grub as one sh program run inside the target: the script's
 * entries replace an earlier tsx-hv block of grub.cfg or are appended to it; makeDefault also
 * points the header's `set default="..."` at the entry.
 */
export function offlineGrubCfgProgram(rootUuid: string, bootUuid: string, makeDefault: boolean): string {
  const lines = [
    'set -e',
    `cfg=${GRUB_CFG}`,
    `out=$(TSX_HV_STANDALONE=1 GRUB_DEVICE_UUID=${shellQuote(rootUuid)} GRUB_DEVICE_BOOT_UUID=${shellQuote(bootUuid)} ${GRUB_SCRIPT_PATH})`,
    `[ -n "$out" ] || { echo "${GRUB_SCRIPT_PATH} made no entry: no kernel in /boot" >&2; exit 1; }`,
    `tmp=$cfg.tsx-hv.$$`,
    `sed -e '\\|^${BEGIN}$|,\\|^${END}$|d' "$cfg" > "$tmp"`,
    `printf '%s\\n%s\\n%s\\n' '${BEGIN}' "$out" '${END}' >> "$tmp"`,
  ];
  if (makeDefault) lines.push(`sed -i -e 's/^\\([[:space:]]*set default=\\)"[^"]*"/\\1"${ENTRY_ID}"/' "$tmp"`);
  lines.push('cat "$tmp" > "$cfg"', 'rm -f "$tmp"');
  return lines.join('\n');
}

export async function planHypervisor(target: Target, bootLoader: BootLoader, sources: HypervisorSources = {}): Promise<ActionPlan> {
  if (bootLoader !== 'grub-debian') {
    throw new TsxHvError('UNSUPPORTED_BOOT_LOADER', `--hypervisor needs GRUB as Debian-family systems install it (/etc/default/grub, /etc/grub.d); ${target.spec} boots with ${bootLoader}`, {
      hint: 'boot the hypervisor from the tsx-hv stick instead (docs/run.md), or add a multiboot2 entry by hand as docs/provision.md shows',
    });
  }
  if (!(await target.readFile('/etc/grub.d/00_header'))) {
    throw new TsxHvError('UNSUPPORTED_BOOT_LOADER', `${target.spec} has /etc/default/grub but no /etc/grub.d/00_header: GRUB's configuration scripts are not installed`, { hint: 'install grub-pc or grub-efi-amd64 on the target first' });
  }
  const kernels = (await target.list('/boot')).filter((p) => /^\/boot\/vmlinuz-[^/]+$/.test(p) && !/\.(old|bak|sig)$|\.dpkg-/.test(p));
  if (kernels.length === 0) throw new TsxHvError('NO_KERNEL', `${target.spec} has no /boot/vmlinuz-*: there is no installed kernel for the hypervisor to start`);
  const image = await readFile(await hypervisorImage(sources.image));
  const script = await grubScript(diskHypervisorArgs(sources.hvArgs));
  const operations: Operation[] = [
    { op: 'write', action: 'hypervisor', path: HV_IMAGE_PATH, content: image, mode: 0o644, why: 'the tsx-hv hypervisor (multiboot2 image)' },
    { op: 'write', action: 'hypervisor', path: GRUB_SCRIPT_PATH, content: script, mode: 0o755, why: 'makes a tsx-hv menu entry for every installed kernel at each update-grub' },
  ];
  if (sources.makeDefault) {
    operations.push({ op: 'write', action: 'hypervisor', path: DEFAULT_DROP_IN, content: Buffer.from(`# tsx-hv provision --hypervisor --default: boot the tsx-hv entry by default (removed by --revert)\nGRUB_DEFAULT=${ENTRY_ID}\n`), mode: 0o644, why: `GRUB_DEFAULT=${ENTRY_ID}` });
  }
  const notes: Change[] = [];
  const fstab = (await target.readFile('/etc/fstab'))?.toString('utf8') ?? '';
  const rootUuid = fstabUuid(fstab, '/');
  const bootUuid = fstabUuid(fstab, '/boot') ?? rootUuid;
  const unchanged = await Promise.all(operations.map(async (op) => op.op === 'write' && (await target.readFile(op.path))?.equals(op.content) === true));
  const cfg = (await target.readFile(GRUB_CFG))?.toString('utf8') ?? null;
  const defaultDone = !sources.makeDefault || (cfg !== null && new RegExp(`^\\s*set default="${ENTRY_ID}"`, 'm').test(cfg));
  if (unchanged.every(Boolean) && cfg !== null && grubCfgHasEntry(cfg) && defaultDone) {
    notes.push({ action: 'hypervisor', status: 'unchanged', kind: 'file', subject: GRUB_CFG, detail: `already has the ${ENTRY_ID} entry` });
  } else {
    operations.push({
      op: 'command',
      action: 'hypervisor',
      argv: ['update-grub'],
      touches: [GRUB_CFG],
      why: `regenerate ${GRUB_CFG} with the tsx-hv entries`,
      fallback:
        cfg !== null && rootUuid
          ? {
              why: `ran ${GRUB_SCRIPT_PATH} by itself and put its entries into ${GRUB_CFG}`,
              operations: [{ op: 'command', action: 'hypervisor', argv: ['sh', '-c', offlineGrubCfgProgram(rootUuid, bootUuid!, Boolean(sources.makeDefault))], touches: [GRUB_CFG], why: `add the tsx-hv entries to ${GRUB_CFG} (root UUID ${rootUuid} from /etc/fstab)` }],
            }
          : undefined,
    });
  }
  if (sources.trial) {
    // grub-reboot writes next_entry into grubenv (grub-editenv): it needs no devices, offline too.
    operations.push({ op: 'command', action: 'hypervisor', argv: ['grub-reboot', ENTRY_ID], touches: [GRUBENV], why: 'boot the tsx-hv entry once, at the next boot' });
  }
  return { operations, notes };
}

/** Refuses --trial/--default/--hv-args without --hypervisor. */
export function checkHypervisorFlags(o: { hypervisor?: boolean; trial?: boolean; makeDefault?: boolean; hvArgs?: string }): void {
  if (o.hypervisor) return;
  const given = [o.trial && '--trial', o.makeDefault && '--default', o.hvArgs !== undefined && '--hv-args'].filter(Boolean);
  if (given.length) throw new UsageError(`${given.join(', ')} ${given.length > 1 ? 'need' : 'needs'} --hypervisor`);
}
