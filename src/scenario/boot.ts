/**
 * `boot()`: the one call a lab operator's script starts with. Builds the media if it is stale
 * (unless given one), starts the engine, waits for the guest agent, and returns a Machine.
 */
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from '../builder/build.js';
import { buildLayout } from '../builder/layout.js';
import { ENGINE_TIMING, type CpuVendor, type EngineMachine, type EngineName } from '../engines/machine.js';
import { startMachine } from '../engines/start.js';
import { startRemote } from '../engines/remote.js';
import { TsxHvError } from '../errors.js';
import { Machine } from './machine.js';
import type { MachineSpec } from './schema.js';

export interface BootOptions {
  /** Where the machine runs (default qemu). */
  engine?: EngineName;
  /** Bochs only: intel (VT-x, default) or amd (SVM). */
  cpuVendor?: CpuVendor;
  /** Bochs only: emulated instructions per second. */
  ips?: number;
  /** Boot media; default: the standard build output, rebuilt first if stale. */
  media?: string;
  /** The machine's own disks, attached writable after the media (QEMU). */
  disks?: readonly string[];
  /** 'disk': no media; boot the first disk's own boot loader. */
  boot?: 'media' | 'disk' | 'chain';
  /** SeaBIOS (default) or OVMF (QEMU). */
  firmware?: 'bios' | 'uefi';
  /** A machine already running under tsx-hv, over ssh: connect instead of booting. */
  target?: string;
  identity?: string;
  sshOptions?: readonly string[];
  memory?: string;
  cpus?: number;
  /** More emulator arguments (QEMU), e.g. `-accel tcg,thread=single`. */
  extraArgs?: readonly string[];
  /** Hypervisor command line additions (media is built with them). */
  hypervisor?: string;
  /** Guest kernel command line additions (media is built with them). */
  append?: string;
  kernel?: string;
  initrd?: string;
  /** Host ms from power-on to the agent's ready line (default: the engine's, QEMU 300 s). */
  readyTimeoutMs?: number;
  /** Build progress lines. */
  log?: (line: string) => void;
  /** Aborting kills the machine while it boots. */
  signal?: AbortSignal;
}

/**
 * The media for a machine: `media` as given, or a build (incremental) copied aside to
 * build/media/scenario-<hash of the options>.iso, so the next build for other options cannot
 * change it under a machine that is about to start.
 */
export async function prepareMedia(opts: Pick<BootOptions, 'media' | 'hypervisor' | 'append' | 'kernel' | 'initrd' | 'log'>): Promise<string> {
  if (opts.media) return opts.media;
  const args = { hvArgs: opts.hypervisor, append: opts.append, kernel: opts.kernel, initrd: opts.initrd, log: opts.log };
  // build/media/tsx-hv.iso is whatever was built last; each set of arguments gets its own copy,
  // made under the build lock, so a later build with other arguments (another test, another
  // scenario) cannot replace the media before the machine starts.
  const key = createHash('sha256').update(JSON.stringify([opts.hypervisor, opts.append, opts.kernel, opts.initrd])).digest('hex').slice(0, 12);
  const dir = buildLayout().media;
  await mkdir(dir, { recursive: true });
  const copy = join(dir, `scenario-${key}.iso`);
  await build({ ...args, copyIsoTo: copy });
  return copy;
}

/** Boot a guest under the hypervisor and wait until its agent answers. */
export async function boot(opts: BootOptions = {}): Promise<Machine<EngineMachine>> {
  if (opts.target) return reach(opts);
  const media = opts.boot === 'disk' ? undefined : await prepareMedia(opts);
  opts.signal?.throwIfAborted();
  const engine = await startMachine({ engine: opts.engine, cpuVendor: opts.cpuVendor, ips: opts.ips, media, disks: opts.disks, boot: opts.boot, firmware: opts.firmware, memory: opts.memory, cpus: opts.cpus, extraArgs: opts.extraArgs, cleanup: false });
  const onAbort = (): void => void engine.kill();
  opts.signal?.addEventListener('abort', onAbort);
  try {
    const readyMs = opts.readyTimeoutMs ?? ENGINE_TIMING[engine.engine].readyMs;
    const { ready, bootMs } = await engine.waitForReady(readyMs);
    const machine = new Machine(engine, { media, bootMs: Math.round(bootMs), hypervisor: ready.hypervisor, clocksource: ready.clocksource });
    if (opts.boot === 'disk' || opts.boot === 'chain') {
      machine.info.installed = true;
      // An installed system's agent answers while systemd is still starting the rest of the boot
      // (a first-boot update-grub, filesystem checks): measurements taken then would judge that
      // load, not the clock. The boot ends when systemd says the system is up (running, or
      // degraded: a failed unit is the system's business, not a reason to stop).
      await machine.exec('if command -v systemctl >/dev/null; then systemctl is-system-running --wait >/dev/null; fi; true', { timeoutMs: Math.max(1, readyMs - bootMs) });
      machine.info.bootMs = Math.round(performance.now() - engine.startedAt);
    }
    return machine;
  } catch (err) {
    await engine.kill();
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** A running machine over ssh: connect to its agent; nothing is booted. */
async function reach(opts: BootOptions): Promise<Machine<EngineMachine>> {
  const engine = await startRemote({ target: opts.target!, identity: opts.identity, sshOptions: opts.sshOptions });
  const onAbort = (): void => void engine.kill();
  opts.signal?.addEventListener('abort', onAbort);
  try {
    const { ready, bootMs } = await engine.waitForReady(opts.readyTimeoutMs ?? ENGINE_TIMING.ssh.readyMs);
    if (ready.hypervisor !== 'tsx-hv-vtime') {
      throw new TsxHvError('NOT_UNDER_HYPERVISOR', `${opts.target} is not running under tsx-hv (its CPUID hypervisor signature is ${ready.hypervisor === null ? 'absent' : JSON.stringify(ready.hypervisor)})`, { hint: 'boot it from the tsx-hv stick or its tsx-hv GRUB entry (tsx-hv provision --hypervisor --trial)' });
    }
    return new Machine(engine, { bootMs: Math.round(bootMs), hypervisor: ready.hypervisor, clocksource: ready.clocksource });
  } catch (err) {
    await engine.kill();
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** The runner's BootFunction for real machines (media already prepared into spec.media). */
export function bootSpec(spec: MachineSpec, signal: AbortSignal): Promise<Machine> {
  return boot({ ...spec, readyTimeoutMs: spec.bootTimeoutS * 1000, signal });
}
