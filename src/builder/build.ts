import { access, copyFile, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InterruptedError, TsxHvError, UsageError } from '../errors.js';
import { throwIfInterrupted } from '../util/abort.js';
import { guestCmdline, hypervisorArgs } from './cmdline.js';
import { compileAddon, compileAgent, compileHvCore } from './compile.js';
import { renderGrubConfig } from './grub.js';
import { InputHash } from './hash.js';
import { BUSYBOX_STATIC, initramfsImage, readBusybox } from './initramfs.js';
import { makeIso } from './iso.js';
import { fetchDebianKernel, resolveKernelPackage, type KernelPackage } from './kernel.js';
import { buildLayout, type BuildLayout } from './layout.js';
import { withBuildLock } from './lock.js';
import { loadState, record, saveState, upToDate, type BuildState } from './state.js';

export interface BuildOptions {
  /** Use this bzImage instead of Debian's kernel. */
  kernel?: string;
  /** Use this initramfs instead of the busybox + agent one. */
  initrd?: string;
  /** Appended to the guest kernel command line. */
  append?: string;
  /** Appended to the hypervisor command line. */
  hvArgs?: string;
  /** Output directory, relative to the current directory (default: build/ in the package). */
  out?: string;
  /** GRUB menu timeout in seconds (default 1). */
  grubTimeout?: number;
  /** Progress lines for humans. */
  log?: (line: string) => void;
  /** Also copy the finished ISO here, while the build lock is still held (so a concurrent build
   * with other arguments cannot replace it in between). */
  copyIsoTo?: string;
  /**
   * Aborted (Ctrl-C, SIGTERM): the running step's program is stopped, no further step starts,
   * the build lock is released and an InterruptedError (exit 130) is thrown. Finished steps stay
   * recorded; the interrupted one is rebuilt next time.
   */
  signal?: AbortSignal;
}

export type StepName = 'hv-core' | 'addon' | 'agent' | 'kernel' | 'initrd' | 'media';

export interface StepResult {
  step: StepName;
  status: 'built' | 'up-to-date';
  ms: number;
  detail?: string;
}

export interface BuildResult {
  outputs: { hvElf: string; hvEfiElf: string; agent: string; vmlinuz: string; initrd: string; iso: string; grubCfg: string };
  guestCmdline: string;
  hvArgs: string;
  kernelPackage?: KernelPackage;
  steps: StepResult[];
}

interface StepDef {
  step: StepName;
  inputs: () => Promise<string>;
  outputs: string[];
  make: () => Promise<string | undefined>;
}

async function runStep(state: BuildState, def: StepDef, log: (l: string) => void, signal?: AbortSignal): Promise<StepResult> {
  throwIfInterrupted(signal);
  const t0 = Date.now();
  const inputs = await def.inputs();
  if (await upToDate(state, def.step, inputs, def.outputs)) return { step: def.step, status: 'up-to-date', ms: Date.now() - t0 };
  log(`building ${def.step} ...`);
  throwIfInterrupted(signal); // hashing the inputs can take a while: check again before making
  const detail = await def.make();
  record(state, def.step, inputs);
  return { step: def.step, status: 'built', ms: Date.now() - t0, ...(detail ? { detail } : {}) };
}

async function requireFile(flag: string, path: string): Promise<string> {
  const full = resolve(path);
  const st = await stat(full).catch(() => undefined);
  if (!st?.isFile()) throw new UsageError(`${flag} ${path}: no such file`);
  return full;
}

async function atomicCopy(from: string, to: string): Promise<void> {
  await copyFile(from, to + '.part');
  await rename(to + '.part', to);
}

/**
 * Builds everything the media needs: the guest agent, kernel and initramfs, the hypervisor
 * (cmake), the Node addon (cmake-js) and the hybrid GRUB ISO, in that order (so the guest is
 * there even while the hypervisor does not compile). Each step is skipped when its
 * inputs are unchanged since the last build (build/state.json).
 */
export async function build(opts: BuildOptions = {}): Promise<BuildResult> {
  const L: BuildLayout = buildLayout(opts.out === undefined ? undefined : resolve(opts.out));
  return withBuildLock(L.out, () => buildUnlocked(L, opts), undefined, opts.signal);
}

async function buildUnlocked(L: BuildLayout, opts: BuildOptions): Promise<BuildResult> {
  const log = opts.log ?? (() => undefined);
  const signal = opts.signal;
  const kernelFile = opts.kernel === undefined ? undefined : await requireFile('--kernel', opts.kernel);
  const initrdFile = opts.initrd === undefined ? undefined : await requireFile('--initrd', opts.initrd);
  const cmdline = guestCmdline(opts.append);
  const hvArgs = hypervisorArgs(opts.hvArgs);
  const grubCfgText = renderGrubConfig(await readFile(join(L.source, 'images', 'media', 'grub.cfg.in'), 'utf8'), {
    hvArgs,
    guestCmdline: cmdline,
    timeout: opts.grubTimeout ?? 1,
  });
  const grubCfg = join(L.media, 'grub.cfg');
  await mkdir(L.guest, { recursive: true });
  await mkdir(L.media, { recursive: true });
  const state = await loadState(L.state);
  const steps: StepResult[] = [];
  let kernelPackage: KernelPackage | undefined;
  const addonOut = join(L.source, 'build', 'native', 'Release', 'tsx_hv_native.node');
  const defs: StepDef[] = [
    {
      step: 'agent',
      inputs: async () => (await new InputHash().text('out', L.agent).tree('agent', join(L.source, 'images', 'agent'))).digest(),
      outputs: [L.agent],
      make: async () => {
        await compileAgent(L.source, L.agent, { signal });
        return L.agent;
      },
    },
    {
      step: 'kernel',
      inputs: async () => {
        if (kernelFile) return (await new InputHash().file('kernel', kernelFile)).digest();
        kernelPackage = await resolveKernelPackage({ signal });
        return new InputHash().text('package', `${kernelPackage.name}=${kernelPackage.version}`).digest();
      },
      outputs: [L.vmlinuz],
      make: async () => {
        const from = kernelFile ?? (await fetchDebianKernel(L.cache, kernelPackage!, { signal }));
        await atomicCopy(from, L.vmlinuz);
        return kernelFile ?? `${kernelPackage!.name} ${kernelPackage!.version}`;
      },
    },
    {
      step: 'initrd',
      inputs: async () => {
        if (initrdFile) return (await new InputHash().file('initrd', initrdFile)).digest();
        const h = new InputHash();
        await h.file('init', join(L.source, 'images', 'guest-linux', 'init'));
        await h.file('agent', L.agent);
        await h.file('busybox', BUSYBOX_STATIC);
        return h.digest();
      },
      outputs: [L.initrd],
      make: async () => {
        if (initrdFile) {
          await atomicCopy(initrdFile, L.initrd);
          return initrdFile;
        }
        const image = initramfsImage({
          init: await readFile(join(L.source, 'images', 'guest-linux', 'init')),
          busybox: await readBusybox(),
          agent: await readFile(L.agent),
        });
        await writeFile(L.initrd + '.part', image);
        await rename(L.initrd + '.part', L.initrd);
        return `${image.length} bytes`;
      },
    },
    {
      step: 'hv-core',
      inputs: async () => (await new InputHash().text('out', L.hvCoreBuild).tree('hv-core', join(L.source, 'hv-core'), ['tests'])).digest(),
      // Both images come from the one CMake project: tsx-hv.elf (GRUB ends boot services) and
      // tsx-hv-efi.elf (UEFI chain boot: boot services kept).
      outputs: [L.hvElf, L.hvEfiElf],
      make: async () => {
        await compileHvCore(L.source, L.hvCoreBuild, { signal });
        const missing: string[] = [];
        for (const f of [L.hvElf, L.hvEfiElf]) if (!(await access(f).then(() => true, () => false))) missing.push(f);
        if (missing.length) {
          throw new TsxHvError('HV_IMAGE_MISSING', `the hypervisor build made no ${missing.join(' and no ')}`, {
            hint: 'hv-core/CMakeLists.txt must build both tsx-hv.elf and tsx-hv-efi.elf (the media carries both)',
          });
        }
        return `${L.hvElf} + tsx-hv-efi.elf`;
      },
    },
    {
      step: 'addon',
      inputs: async () => {
        const h = new InputHash();
        await h.tree('native', join(L.source, 'native'), ['build', 'node_modules']);
        await h.tree('vtime', join(L.source, 'hv-core', 'src', 'vtime'));
        await h.tree('include', join(L.source, 'hv-core', 'include'));
        return h.digest();
      },
      outputs: [addonOut],
      make: async () => ((await compileAddon(L.source, { signal })) ? addonOut : 'no scripts/build-addon.mjs in this package'),
    },
    {
      step: 'media',
      inputs: async () => {
        const h = new InputHash().text('grub.cfg', grubCfgText);
        for (const f of [L.hvElf, L.hvEfiElf, L.vmlinuz, L.initrd]) await h.file(f, f);
        return h.digest();
      },
      outputs: [L.iso, grubCfg],
      make: async () => {
        await writeFile(grubCfg, grubCfgText);
        await makeIso({ hvElf: L.hvElf, hvEfiElf: L.hvEfiElf, vmlinuz: L.vmlinuz, initrd: L.initrd, grubCfg: grubCfgText }, L.iso, { signal });
        return L.iso;
      },
    },
  ];
  try {
    for (const def of defs) {
      try {
        steps.push(await runStep(state, def, log, opts.signal));
      } catch (err) {
        if (!(err instanceof InterruptedError)) throw err;
        const done = steps.map((s) => s.step).join(', ') || 'none';
        throw new InterruptedError(`${err.message}; the build stopped at step ${def.step} (finished: ${done}) and released its lock`, 'run `tsx-hv build` again: finished steps are not redone');
      }
    }
  } finally {
    await saveState(L.state, state);
  }
  if (opts.copyIsoTo) await atomicCopy(L.iso, opts.copyIsoTo);
  return {
    outputs: { hvElf: L.hvElf, hvEfiElf: L.hvEfiElf, agent: L.agent, vmlinuz: L.vmlinuz, initrd: L.initrd, iso: L.iso, grubCfg },
    guestCmdline: cmdline,
    hvArgs,
    ...(kernelPackage ? { kernelPackage } : {}),
    steps,
  };
}
