import { EventEmitter } from 'node:events';
import { createWriteStream } from 'node:fs';
import { access, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { execa, type ResultPromise } from 'execa';
import { TimeoutError, ToolFailedError, TsxHvError, UsageError } from '../errors.js';
import { AgentChannel } from './agent-channel.js';
import { parseReady, type AgentReady } from './agent-protocol.js';
import { HvPort } from './hv-port.js';
import { LineSplitter } from './lines.js';
import type { EngineMachine, MachineConsoleEvents, MachineExit, MachineOptions, MachinePaths, PowerOffMethod } from './machine.js';
import { locateTool } from '../doctor/locate.js';
import { OVMF_VARS, QEMU_BINARY, qemuArgs, type QemuPaths } from './qemu-args.js';
import { QmpClient } from './qmp.js';
import { track, untrack } from './reaper.js';

const CONNECT_TIMEOUT_MS = 15_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Connects to a unix socket the emulator is about to create; retries until it accepts. */
async function connectWhenReady(path: string, exited: () => boolean, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const socket = await new Promise<Socket | undefined>((res) => {
      const s = connect(path);
      s.once('connect', () => res(s));
      s.once('error', () => {
        s.destroy();
        res(undefined);
      });
    });
    if (socket) return socket;
    if (exited()) throw new TsxHvError('ENGINE_EXITED', `${QEMU_BINARY} exited before opening ${path}`);
    if (Date.now() > deadline) throw new TimeoutError(`${QEMU_BINARY} did not open ${path} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

class QemuMachine implements EngineMachine {
  readonly engine = 'qemu' as const;
  readonly console = new EventEmitter<MachineConsoleEvents>();
  readonly exited: Promise<MachineExit>;
  private readonly lines: string[] = [];
  private cursor = 0;
  private lineWaiters = new Set<() => void>();
  private agentChannel: AgentChannel;
  private hvPort: HvPort;
  private consoleSocket: Socket | undefined;
  private hvSocket: Socket | undefined;
  private qmpClient: QmpClient | undefined;
  private ready: AgentReady | undefined;
  private readyAt: number | undefined;
  private done = false;

  constructor(
    readonly hypervisor: boolean,
    readonly paths: MachinePaths,
    readonly startedAt: number,
    private readonly child: ResultPromise,
    onHvLog: ((line: string) => void) | undefined,
    private readonly cleanup: boolean,
  ) {
    this.agentChannel = new AgentChannel((t) => this.consoleSocket?.write(t));
    this.hvPort = new HvPort((t) => this.hvSocket?.write(t), onHvLog);
    this.exited = new Promise<MachineExit>((res) => {
      child.once('exit', (code, signal) => {
        this.done = true;
        untrack(child);
        const gone = new TsxHvError('ENGINE_EXITED', `the machine has stopped (${QEMU_BINARY} exit ${code ?? signal})`);
        this.agentChannel.close(gone);
        this.hvPort.close(gone);
        this.qmpClient?.close();
        for (const wake of this.lineWaiters) wake();
        res({ code, signal });
      });
    });
    void this.exited.then(() => this.removeWorkFiles());
  }

  get running(): boolean {
    return !this.done;
  }

  get hvLog(): readonly string[] {
    return this.hvPort.log;
  }

  attach(consoleSocket: Socket, hvSocket: Socket, qmp: QmpClient): void {
    this.consoleSocket = consoleSocket;
    this.hvSocket = hvSocket;
    this.qmpClient = qmp;
    const decoder = new StringDecoder('utf8');
    const consoleLines = new LineSplitter((line) => this.consoleLine(line));
    consoleSocket.on('data', (d: Buffer) => {
      this.console.emit('data', d);
      consoleLines.push(decoder.write(d));
    });
    const hvDecoder = new StringDecoder('utf8');
    const hvLines = new LineSplitter((line) => this.hvPort.line(line));
    hvSocket.on('data', (d: Buffer) => hvLines.push(hvDecoder.write(d)));
    for (const s of [consoleSocket, hvSocket]) s.on('error', () => undefined);
  }

  private consoleLine(line: string): void {
    this.lines.push(line);
    if (!this.ready) {
      const ready = parseReady(line);
      if (ready) {
        this.ready = ready;
        this.readyAt = performance.now();
      }
    }
    this.agentChannel.line(line);
    this.console.emit('line', line);
    for (const wake of this.lineWaiters) wake();
  }

  writeConsole(data: string | Buffer): void {
    this.consoleSocket?.write(data);
  }

  waitFor(pattern: RegExp | string, timeoutMs: number): Promise<string> {
    const matches = (l: string) => (typeof pattern === 'string' ? l.includes(pattern) : pattern.test(l));
    return new Promise<string>((resolve, reject) => {
      const check = () => {
        for (; this.cursor < this.lines.length; this.cursor++) {
          const line = this.lines[this.cursor]!;
          if (matches(line)) {
            this.cursor++;
            finish();
            resolve(line);
            return;
          }
        }
        if (this.done) {
          finish();
          reject(new TsxHvError('ENGINE_EXITED', `the machine stopped before the console showed ${String(pattern)}`, { hint: `console log: ${this.paths.consoleLog}` }));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new TimeoutError(`the console did not show ${String(pattern)} within ${timeoutMs} ms`, `console log: ${this.paths.consoleLog}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.lineWaiters.delete(check);
      };
      this.lineWaiters.add(check);
      check();
    });
  }

  async waitForReady(timeoutMs: number): Promise<{ ready: AgentReady; bootMs: number }> {
    if (!this.ready) await this.waitFor(/tsx-hv-agent: ready \{/, timeoutMs);
    return { ready: this.ready!, bootMs: this.readyAt! - this.startedAt };
  }

  agent(command: string, timeoutMs = 10_000): Promise<string> {
    return this.agentChannel.request(command, timeoutMs);
  }

  control(line: string, timeoutMs = 5_000): Promise<string> {
    return this.hvPort.control(line, timeoutMs);
  }

  async sendKeys(keys: readonly string[], holdTimeMs?: number): Promise<void> {
    await this.qmpClient!.sendKeys(keys, holdTimeMs);
  }

  private async within(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
    const r = await Promise.race([this.exited.then(() => true), t]);
    clearTimeout(timer);
    return r;
  }

  async powerOff(timeoutMs = 15_000): Promise<MachineExit & { method: PowerOffMethod }> {
    if (this.done) return { ...(await this.exited), method: 'already-off' };
    const third = Math.max(1000, Math.floor(timeoutMs / 3));
    if (this.ready) {
      // The reply may be lost as the machine goes down: the exit is what counts.
      this.agentChannel.request('poweroff', third).catch(() => undefined);
      if (await this.within(third)) return { ...(await this.exited), method: 'agent' };
    }
    await this.qmpClient?.execute('system_powerdown').catch(() => undefined);
    if (await this.within(third)) return { ...(await this.exited), method: 'acpi' };
    await this.qmpClient?.execute('quit').catch(() => undefined);
    if (await this.within(third)) return { ...(await this.exited), method: 'quit' };
    return { ...(await this.kill()), method: 'kill' };
  }

  async kill(): Promise<MachineExit> {
    if (!this.done) this.child.kill('SIGKILL');
    return this.exited;
  }

  private async removeWorkFiles(): Promise<void> {
    this.consoleSocket?.destroy();
    this.hvSocket?.destroy();
    if (this.cleanup) await rm(this.paths.workdir, { recursive: true, force: true });
    else await Promise.all([this.paths.console, this.paths.hv, this.paths.qmp].map((p) => rm(p, { force: true })));
  }
}

/** Boots `media` in QEMU TCG with the SVM-capable CPU model; resolves once all sockets are up. */
export async function startQemu(opts: MachineOptions & { media: string }): Promise<EngineMachine> {
  const media = resolve(opts.media);
  if (!(await access(media).then(() => true, () => false))) {
    throw new UsageError(`boot media ${opts.media} does not exist`, 'run `tsx-hv build` first, or pass --media FILE');
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
    args = qemuArgs({ media, memory: opts.memory ?? '512M', cpus: opts.cpus ?? 1, hypervisor: opts.hypervisor ?? true, firmware, extraArgs: opts.extraArgs }, qp);
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
  const machine = new QemuMachine(opts.hypervisor ?? true, paths, startedAt, child, opts.onHvLog, opts.cleanup ?? false);
  let exitedEarly = false;
  void machine.exited.then(() => (exitedEarly = true));
  try {
    const consoleSocket = await connectWhenReady(qp.console, () => exitedEarly, CONNECT_TIMEOUT_MS);
    const hvSocket = await connectWhenReady(qp.hv, () => exitedEarly, CONNECT_TIMEOUT_MS);
    await connectWhenReady(qp.qmp, () => exitedEarly, CONNECT_TIMEOUT_MS).then((s) => s.destroy());
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
