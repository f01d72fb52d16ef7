import { constants, createWriteStream } from 'node:fs';
import { access, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { ToolFailedError, UsageError } from '../errors.js';
import { ENGINE_TIMING, type EngineMachine, type MachineOptions, type MachinePaths } from './machine.js';
import { locateTool } from '../doctor/locate.js';
import { OVMF_VARS, QEMU_BINARY, qemuArgs, type QemuPaths } from './qemu-args.js';
import { QmpClient } from './qmp.js';
import { track } from './reaper.js';
import { SerialMachine, connectWhenReady, type PowerOffStep } from './serial-machine.js';

const CONNECT_TIMEOUT_MS = 15_000;

/** QEMU's own ways to end a machine: the ACPI power button, then QMP quit. Keys go through QMP send-key. */
class QemuMachine extends SerialMachine {
  private qmpClient: QmpClient | undefined;

  attach(consoleSocket: Socket, hvSocket: Socket, qmp: QmpClient): void {
    this.qmpClient = qmp;
    this.attachPorts(consoleSocket, hvSocket);
  }

  protected override stopped(): void {
    this.qmpClient?.close();
  }

  async sendKeys(keys: readonly string[], holdTimeMs?: number): Promise<void> {
    await this.qmpClient!.sendKeys(keys, holdTimeMs);
  }

  protected powerOffSteps(): PowerOffStep[] {
    return [
      { method: 'acpi', run: async () => this.qmpClient?.execute('system_powerdown') },
      { method: 'quit', run: async () => this.qmpClient?.execute('quit') },
    ];
  }
}

/** Boots `media` (or, with media null, the first disk) in QEMU TCG with the SVM-capable CPU model; resolves once all sockets are up. */
export async function startQemu(opts: Omit<MachineOptions, 'media'> & { media: string | null }): Promise<EngineMachine> {
  const media = opts.media === null ? null : resolve(opts.media);
  if (media !== null && !(await access(media).then(() => true, () => false))) {
    throw new UsageError(`boot media ${opts.media} does not exist`, 'run `tsx-hv build` first, or pass --media FILE');
  }
  const disks = (opts.disks ?? []).map((d) => resolve(d));
  for (const [i, disk] of disks.entries()) {
    if (!(await access(disk, constants.R_OK | constants.W_OK).then(() => true, () => false))) throw new UsageError(`disk image ${opts.disks![i]} does not exist or is not writable`);
  }
  // Through the catalog, so a missing program is exit 77 naming its package (and doctor checks it).
  const [setpriv, qemu] = [await locateTool('setpriv'), await locateTool(QEMU_BINARY)];
  const workdir = await mkdtemp(join(tmpdir(), 'tsx-hv-qemu-'));
  const qp: QemuPaths = {
    console: join(workdir, 'console.sock'),
    consoleLog: join(workdir, 'console.log'),
    hv: join(workdir, 'hv.sock'),
    hvLog: join(workdir, 'hv.log'),
    qmp: join(workdir, 'qmp.sock'),
    pidfile: join(workdir, 'qemu.pid'),
    uefiVars: join(workdir, 'OVMF_VARS.fd'),
  };
  const firmware = opts.firmware ?? 'bios';
  let args: string[];
  try {
    args = qemuArgs({ media, disks, memory: opts.memory ?? '512M', cpus: opts.cpus ?? 1, hypervisor: opts.hypervisor ?? true, chain: opts.boot === 'chain', firmware, extraArgs: [...(opts.extraArgs ?? []), ...debugArgs(workdir)] }, qp);
    if (firmware === 'uefi') await copyFile(OVMF_VARS, qp.uefiVars);
  } catch (err) {
    await rm(workdir, { recursive: true, force: true });
    throw err;
  }
  const paths: MachinePaths = { workdir, console: qp.console, consoleLog: qp.consoleLog, hv: qp.hv, hvLog: qp.hvLog, qmp: qp.qmp, engineLog: join(workdir, 'qemu.stderr') };
  const startedAt = performance.now();
  // setpriv --pdeathsig: the kernel kills QEMU if this process dies without cleaning up.
  const child = execa(setpriv, ['--pdeathsig', 'KILL', '--', qemu, ...args], { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', reject: false, buffer: false });
  track(child);
  const engineLog = createWriteStream(paths.engineLog);
  child.stderr?.pipe(engineLog);
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));
  const machine = new QemuMachine({
    engine: 'qemu',
    program: QEMU_BINARY,
    hypervisor: opts.hypervisor ?? true,
    paths,
    timing: ENGINE_TIMING.qemu,
    startedAt,
    child,
    onHvLog: opts.onHvLog,
    cleanup: opts.cleanup ?? false,
    transientFiles: [qp.console, qp.hv, qp.qmp],
  });
  let exitedEarly = false;
  void machine.exited.then(() => (exitedEarly = true));
  try {
    const consoleSocket = await connectWhenReady({ path: qp.console }, QEMU_BINARY, () => exitedEarly, CONNECT_TIMEOUT_MS);
    const hvSocket = await connectWhenReady({ path: qp.hv }, QEMU_BINARY, () => exitedEarly, CONNECT_TIMEOUT_MS);
    await connectWhenReady({ path: qp.qmp }, QEMU_BINARY, () => exitedEarly, CONNECT_TIMEOUT_MS).then((s) => s.destroy());
    const qmp = await QmpClient.connect(qp.qmp);
    machine.attach(consoleSocket, hvSocket, qmp);
    return machine;
  } catch (err) {
    await machine.kill();
    if (spawnError) throw new ToolFailedError('setpriv', undefined, spawnError.message);
    const stderr = await readFile(paths.engineLog, 'utf8').catch(() => '');
    if (stderr.trim()) throw new ToolFailedError(QEMU_BINARY, undefined, stderr);
    throw err;
  }
}

/**
 * TSX_HV_QEMU_DEBUG=FLAGS adds QEMU's `-d FLAGS -D WORKDIR/qemu-debug.log` to every machine
 * tsx-hv starts (e.g. `cpu_reset,guest_errors` to see a triple fault, `int` for every
 * exception with its registers): the evidence for a machine that dies without a word, from any
 * command or test, without changing them. The workdir is kept with the other logs.
 * TSX_HV_QEMU_EXTRA_ARGS="ARG ..." (split on spaces) appends more, e.g. `-accel tcg,thread=single`.
 */
export function debugArgs(workdir: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const flags = env.TSX_HV_QEMU_DEBUG?.trim();
  const extra = env.TSX_HV_QEMU_EXTRA_ARGS?.trim().split(/\s+/).filter(Boolean) ?? [];
  return [...(flags ? ['-d', flags, '-D', join(workdir, 'qemu-debug.log')] : []), ...extra];
}
