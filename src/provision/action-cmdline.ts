import { posix } from 'node:path';
import { TsxHvError } from '../errors.js';
import { grubCfgHasArgs, grubCmdlineLinux, overridesCmdline, withGrubCfgArgs, withGrubCmdlineArgs } from './grub-config.js';
import { hasKernelArgs, mergeKernelArgs } from './kernel-args.js';
import type { Distribution } from './os-release.js';
import type { Target } from './target.js';
import type { ActionPlan, Change, Operation } from './types.js';
import { ADMIN_UNIT_DIR, UNIT_LINK_TREES } from './units.js';

/**
 * The kernel command line action: make `tsc=reliable` (and `--append` arguments) persistent the
 * way the installed boot loader expects it.
 * - grub-debian: GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub. update-grub needs
 *   the target's devices (grub-probe), which a chroot of a directory or image does not have; then
 *   the `linux` lines of the existing grub.cfg are edited directly (so the first boot already has
 *   the arguments) and a one-shot unit regenerates grub.cfg properly at first boot.
 * - grubby (Fedora/RHEL): `grubby --update-kernel=ALL --args=...` for the installed kernels, and
 *   GRUB_CMDLINE_LINUX for kernels installed later.
 * - systemd-boot: /etc/kernel/cmdline (read by kernel-install for new kernels) and the `options`
 *   line of every loader entry.
 */
export type BootLoader = 'grub-debian' | 'grubby' | 'systemd-boot';

export const FIRST_BOOT_UNIT = 'tsx-hv-update-grub.service';
const GRUB_DEFAULT = '/etc/default/grub';
const GRUB_DEFAULT_DIR = '/etc/default/grub.d';
const GRUB_CFG = '/boot/grub/grub.cfg';
const KERNEL_CMDLINE = '/etc/kernel/cmdline';
const ESP_DIRS = ['/boot', '/efi', '/boot/efi'] as const;

export async function detectBootLoader(target: Target, dist: Distribution): Promise<BootLoader> {
  const hasGrub = (await target.readFile(GRUB_DEFAULT)) !== null;
  for (const esp of ESP_DIRS) {
    if (!hasGrub && (await target.readFile(posix.join(esp, 'loader/loader.conf'))) !== null) return 'systemd-boot';
  }
  if (dist.family === 'debian' && hasGrub) return 'grub-debian';
  if (dist.family === 'fedora' && ((await target.readFile('/usr/sbin/grubby')) !== null || (await target.readFile('/sbin/grubby')) !== null)) return 'grubby';
  throw new TsxHvError('UNKNOWN_BOOT_LOADER', `cannot tell how ${dist.name} on ${target.spec} sets its kernel command line (no /etc/default/grub, grubby or systemd-boot loader.conf)`, {
    hint: 'add tsc=reliable to the kernel command line by hand, or install the distribution boot loader',
  });
}

export async function planCmdline(target: Target, bootLoader: BootLoader, args: readonly string[]): Promise<ActionPlan> {
  switch (bootLoader) {
    case 'grub-debian':
      return planGrubDebian(target, args);
    case 'grubby':
      return planGrubby(target, args);
    case 'systemd-boot':
      return planSystemdBoot(target, args);
  }
}

function note(status: Change['status'], subject: string, detail: string): Change {
  return { action: 'cmdline', status, kind: 'note', subject, detail };
}

async function planGrubDebian(target: Target, args: readonly string[]): Promise<ActionPlan> {
  const notes: Change[] = [];
  const operations: Operation[] = [];
  const text = (await target.readFile(GRUB_DEFAULT))!.toString('utf8');
  const updated = withGrubCmdlineArgs(text, args);
  for (const dropIn of (await target.list(GRUB_DEFAULT_DIR)).filter((p) => p.endsWith('.cfg'))) {
    const content = await target.readFile(dropIn);
    if (content && overridesCmdline(content.toString('utf8'))) {
      notes.push(note('info', dropIn, `sets GRUB_CMDLINE_LINUX without keeping the previous value and is read after ${GRUB_DEFAULT}: the arguments may be lost; edit it by hand`));
    }
  }
  const grubCfg = await target.readFile(GRUB_CFG);
  const cfgDone = grubCfg !== null && grubCfgHasArgs(grubCfg.toString('utf8'), args);
  const firstBootPending = (await target.state(posix.join(ADMIN_UNIT_DIR, FIRST_BOOT_UNIT))).type === 'file';
  if (updated === text) {
    notes.push(note('unchanged', GRUB_DEFAULT, `GRUB_CMDLINE_LINUX already has ${args.join(' ')}`));
    if (cfgDone || firstBootPending) {
      notes.push(note('unchanged', GRUB_CFG, cfgDone ? 'every linux line already has the arguments' : `${FIRST_BOOT_UNIT} regenerates it at first boot`));
      return { operations, notes };
    }
  } else {
    operations.push({ op: 'write', action: 'cmdline', path: GRUB_DEFAULT, content: Buffer.from(updated), mode: await modeOf(target, GRUB_DEFAULT, 0o644), why: `GRUB_CMDLINE_LINUX="${grubCmdlineLinux(updated)}"` });
  }
  const fallback: Operation[] = [];
  const editedCfg = grubCfg && withGrubCfgArgs(grubCfg.toString('utf8'), args);
  if (editedCfg) {
    fallback.push({ op: 'write', action: 'cmdline', path: GRUB_CFG, content: Buffer.from(editedCfg), mode: await modeOf(target, GRUB_CFG, 0o444), why: 'arguments added to the existing linux lines, so the first boot already has them' });
  }
  fallback.push(
    { op: 'write', action: 'cmdline', path: posix.join(ADMIN_UNIT_DIR, FIRST_BOOT_UNIT), content: Buffer.from(firstBootUnit()), mode: 0o644, why: 'runs update-grub once at first boot, then disables itself' },
    { op: 'command', action: 'cmdline', systemctl: true, argv: ['enable', FIRST_BOOT_UNIT], touchesTrees: UNIT_LINK_TREES, why: 'regenerate grub.cfg at first boot' },
  );
  operations.push({
    op: 'command',
    action: 'cmdline',
    argv: ['update-grub'],
    touches: [GRUB_CFG],
    why: 'regenerate /boot/grub/grub.cfg',
    fallback: { why: `${editedCfg ? 'edited the linux lines of grub.cfg and ' : ''}installed ${FIRST_BOOT_UNIT} to run update-grub at first boot`, operations: fallback },
  });
  return { operations, notes };
}

function firstBootUnit(): string {
  return `# Installed by tsx-hv provision: update-grub could not run offline (no devices in the chroot),
# so GRUB's configuration is regenerated once on the first boot. The unit disables itself.
[Unit]
Description=tsx-hv: regenerate the GRUB configuration once
ConditionPathExists=/usr/sbin/update-grub
After=local-fs.target

[Service]
Type=oneshot
ExecStart=/usr/sbin/update-grub
ExecStartPost=/bin/systemctl disable ${FIRST_BOOT_UNIT}

[Install]
WantedBy=multi-user.target
`;
}

async function modeOf(target: Target, path: string, fallback: number): Promise<number> {
  const s = await target.state(path);
  return s.type === 'file' ? s.mode : fallback;
}

async function loaderEntries(target: Target, dirs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const dir of dirs) out.push(...(await target.list(dir)).filter((p) => p.endsWith('.conf') && posix.dirname(p) === dir));
  return out;
}

function optionsOf(entry: string): string | null {
  const m = /^options[ \t]+(.*)$/m.exec(entry);
  return m ? m[1]! : null;
}

async function planGrubby(target: Target, args: readonly string[]): Promise<ActionPlan> {
  const operations: Operation[] = [];
  const notes: Change[] = [];
  const grubDefault = await target.readFile(GRUB_DEFAULT);
  if (grubDefault) {
    const text = grubDefault.toString('utf8');
    const updated = withGrubCmdlineArgs(text, args);
    if (updated !== text) operations.push({ op: 'write', action: 'cmdline', path: GRUB_DEFAULT, content: Buffer.from(updated), mode: await modeOf(target, GRUB_DEFAULT, 0o644), why: 'for kernels installed later' });
  }
  const entries = await loaderEntries(target, ['/boot/loader/entries']);
  const contents = await Promise.all(entries.map((e) => target.readFile(e)));
  const done = entries.length > 0 && contents.every((c) => c !== null && hasKernelArgs(optionsOf(c.toString('utf8')) ?? '', args));
  if (done) notes.push(note('unchanged', '/boot/loader/entries', `every boot entry already has ${args.join(' ')}`));
  else {
    operations.push({
      op: 'command',
      action: 'cmdline',
      argv: ['grubby', '--update-kernel=ALL', `--args=${args.join(' ')}`],
      touches: [GRUB_DEFAULT, '/boot/grub2/grubenv', '/boot/grub2/grub.cfg', KERNEL_CMDLINE],
      touchesTrees: ['/boot/loader/entries'],
      why: 'add the arguments to every installed kernel',
    });
  }
  return { operations, notes };
}

async function planSystemdBoot(target: Target, args: readonly string[]): Promise<ActionPlan> {
  const operations: Operation[] = [];
  const notes: Change[] = [];
  const entries = await loaderEntries(target, ESP_DIRS.map((d) => posix.join(d, 'loader/entries')));
  const contents = new Map<string, string>();
  for (const e of entries) contents.set(e, (await target.readFile(e))!.toString('utf8'));
  const current = await target.readFile(KERNEL_CMDLINE);
  const base = current?.toString('utf8').trim() ?? optionsOf([...contents.values()][0] ?? '') ?? '';
  const wanted = mergeKernelArgs(base, args) + '\n';
  if (current?.toString('utf8') === wanted) notes.push(note('unchanged', KERNEL_CMDLINE, `already has ${args.join(' ')}`));
  else operations.push({ op: 'write', action: 'cmdline', path: KERNEL_CMDLINE, content: Buffer.from(wanted), mode: await modeOf(target, KERNEL_CMDLINE, 0o644), why: 'kernel-install uses it for kernels installed later' });
  for (const [entry, text] of contents) {
    const options = optionsOf(text);
    if (options !== null && hasKernelArgs(options, args)) {
      notes.push(note('unchanged', entry, 'options already has the arguments'));
      continue;
    }
    const updated = options === null ? `${text.replace(/\n?$/, '\n')}options ${args.join(' ')}\n` : text.replace(/^options[ \t]+.*$/m, `options ${mergeKernelArgs(options, args)}`);
    operations.push({ op: 'write', action: 'cmdline', path: entry, content: Buffer.from(updated), mode: await modeOf(target, entry, 0o644), why: 'boot entry options' });
  }
  return { operations, notes };
}
