/**
 * What every engine's machine shares: the guest console and the hypervisor port are two serial
 * ports the host holds as stream sockets (QEMU: Unix sockets; Bochs: TCP on the loopback
 * interface). This module splits them into lines, answers waitFor/waitForReady, carries agent
 * requests and control commands, and sequences the power-off. An engine supplies the process,
 * the sockets, its keys and its own power-off steps (QMP, signals).
 */
import { EventEmitter } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { TimeoutError, TsxHvError } from '../errors.js';
import { AgentChannel } from './agent-channel.js';
import { parseReady, type AgentReady } from './agent-protocol.js';
import { HvPort } from './hv-port.js';
import { LineSplitter } from './lines.js';
import type { EngineMachine, EngineName, EngineTiming, MachineConsoleEvents, MachineExit, MachinePaths, PowerOffMethod } from './machine.js';
import { untrack } from './reaper.js';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A Unix socket path, or a TCP port on the loopback interface. */
export type SocketAddress = { path: string } | { host: string; port: number };

export function describeAddress(address: SocketAddress): string {
  return 'path' in address ? address.path : `${address.host}:${address.port}`;
}

/**
 * Connects to a server socket the emulator is about to open; retries until it accepts, the
 * emulator exits (`exited()`), or `timeoutMs` passes. `program` names the emulator in errors.
 */
export async function connectWhenReady(address: SocketAddress, program: string, exited: () => boolean, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const socket = await new Promise<Socket | undefined>((res) => {
      const s = 'path' in address ? connect(address.path) : connect(address.port, address.host);
      s.once('connect', () => res(s));
      s.once('error', () => {
        s.destroy();
        res(undefined);
      });
    });
    if (socket) return socket;
    if (exited()) throw new TsxHvError('ENGINE_EXITED', `${program} exited before opening ${describeAddress(address)}`);
    if (Date.now() > deadline) throw new TimeoutError(`${program} did not open ${describeAddress(address)} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** The emulator's process, as execa (a ChildProcess) gives it. */
export interface EmulatorProcess {
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  kill(signal?: NodeJS.Signals): boolean;
}

/** One of an engine's own ways to end the machine, tried after the agent's poweroff. */
export interface PowerOffStep {
  method: PowerOffMethod;
  run(): Promise<unknown>;
}

export interface SerialMachineOptions {
  engine: EngineName;
  /** The emulator's program name, for messages. */
  program: string;
  hypervisor: boolean;
  paths: MachinePaths;
  timing: EngineTiming;
  startedAt: number;
  child: EmulatorProcess;
  onHvLog?: (line: string) => void;
  /** Delete the whole work directory once the machine is gone. */
  cleanup: boolean;
  /** Files removed once the machine is gone even without cleanup (Unix sockets). */
  transientFiles?: readonly string[];
  /** Write everything the two ports send to paths.consoleLog and paths.hvLog (QEMU does it itself). */
  writeLogs?: boolean;
  /** Turns the emulator's exit status into the machine's (Bochs ends a clean power-off with status 1). */
  interpretExit?: (exit: MachineExit) => Promise<MachineExit>;
}

export abstract class SerialMachine implements EngineMachine {
  readonly engine: EngineName;
  readonly hypervisor: boolean;
  readonly paths: MachinePaths;
  readonly timing: EngineTiming;
  readonly startedAt: number;
  readonly console = new EventEmitter<MachineConsoleEvents>();
  readonly exited: Promise<MachineExit>;
  protected readonly child: EmulatorProcess;
  protected readonly program: string;
  private readonly lines: string[] = [];
  private cursor = 0;
  private readonly lineWaiters = new Set<() => void>();
  private readonly agentChannel: AgentChannel;
  private readonly hvPort: HvPort;
  private consoleSocket: Socket | undefined;
  private hvSocket: Socket | undefined;
  private readonly logStreams: WriteStream[] = [];
  private ready: AgentReady | undefined;
  private readyAt: number | undefined;
  private done = false;

  constructor(private readonly opts: SerialMachineOptions) {
    this.engine = opts.engine;
    this.hypervisor = opts.hypervisor;
    this.paths = opts.paths;
    this.timing = opts.timing;
    this.startedAt = opts.startedAt;
    this.child = opts.child;
    this.program = opts.program;
    this.agentChannel = new AgentChannel((t) => this.consoleSocket?.write(t));
    this.hvPort = new HvPort((t) => this.hvSocket?.write(t), opts.onHvLog);
    this.exited = new Promise<MachineExit>((res) => {
      opts.child.once('exit', (code, signal) => {
        this.done = true;
        untrack(opts.child);
        const raw = { code, signal };
        void (opts.interpretExit?.(raw) ?? Promise.resolve(raw))
          .catch(() => raw)
          .then((exit) => {
            const gone = new TsxHvError('ENGINE_EXITED', `the machine has stopped (${opts.program} exit ${exit.code ?? exit.signal})`);
            this.agentChannel.close(gone);
            this.hvPort.close(gone);
            this.stopped();
            for (const wake of this.lineWaiters) wake();
            res(exit);
          });
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

  /** Takes over the two serial ports once the emulator has accepted both connections. */
  protected attachPorts(consoleSocket: Socket, hvSocket: Socket): void {
    this.consoleSocket = consoleSocket;
    this.hvSocket = hvSocket;
    const consoleLog = this.opts.writeLogs ? this.logStream(this.paths.consoleLog) : undefined;
    const hvLog = this.opts.writeLogs ? this.logStream(this.paths.hvLog) : undefined;
    const decoder = new StringDecoder('utf8');
    const consoleLines = new LineSplitter((line) => this.consoleLine(line));
    consoleSocket.on('data', (d: Buffer) => {
      consoleLog?.write(d);
      this.console.emit('data', d);
      consoleLines.push(decoder.write(d));
    });
    const hvDecoder = new StringDecoder('utf8');
    const hvLines = new LineSplitter((line) => this.hvPort.line(line));
    hvSocket.on('data', (d: Buffer) => {
      hvLog?.write(d);
      hvLines.push(hvDecoder.write(d));
    });
    for (const s of [consoleSocket, hvSocket]) s.on('error', () => undefined);
  }

  private logStream(path: string): WriteStream {
    const stream = createWriteStream(path);
    stream.on('error', () => undefined);
    this.logStreams.push(stream);
    return stream;
  }

  /** Called once when the emulator has exited: close engine-specific clients (QMP, RFB). */
  protected stopped(): void {}

  /** The engine's own power-off steps after the agent's poweroff, in order (SIGKILL comes last anyway). */
  protected abstract powerOffSteps(): PowerOffStep[];

  abstract sendKeys(keys: readonly string[], holdTimeMs?: number): Promise<void>;

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

  async waitForReady(timeoutMs = this.timing.readyMs): Promise<{ ready: AgentReady; bootMs: number }> {
    if (!this.ready) await this.waitFor(/tsx-hv-agent: ready \{/, timeoutMs);
    return { ready: this.ready!, bootMs: this.readyAt! - this.startedAt };
  }

  agent(command: string, timeoutMs = this.timing.agentMs): Promise<string> {
    return this.agentChannel.request(command, timeoutMs);
  }

  control(line: string, timeoutMs = this.timing.controlMs): Promise<string> {
    return this.hvPort.control(line, timeoutMs);
  }

  /** True if the emulator exits within `ms`. */
  protected async within(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
    const r = await Promise.race([this.exited.then(() => true), t]);
    clearTimeout(timer);
    return r;
  }

  /**
   * The agent's poweroff (sync, then ACPI soft-off from inside the guest) when the agent is up,
   * then each of the engine's steps, each given an equal share of `timeoutMs`, then SIGKILL.
   */
  async powerOff(timeoutMs = this.timing.powerOffMs): Promise<MachineExit & { method: PowerOffMethod }> {
    if (this.done) return { ...(await this.exited), method: 'already-off' };
    const steps = this.powerOffSteps();
    const share = Math.max(1000, Math.floor(timeoutMs / (steps.length + 1)));
    if (this.ready) {
      // The reply may be lost as the machine goes down: the exit is what counts.
      this.agentChannel.request('poweroff', share).catch(() => undefined);
      if (await this.within(share)) return { ...(await this.exited), method: 'agent' };
    }
    for (const step of steps) {
      await step.run().catch(() => undefined);
      if (await this.within(share)) return { ...(await this.exited), method: step.method };
    }
    return { ...(await this.kill()), method: 'kill' };
  }

  async kill(): Promise<MachineExit> {
    if (!this.done) this.child.kill('SIGKILL');
    return this.exited;
  }

  private async removeWorkFiles(): Promise<void> {
    this.consoleSocket?.destroy();
    this.hvSocket?.destroy();
    await Promise.all(this.logStreams.map((s) => new Promise<void>((r) => s.end(r))));
    if (this.opts.cleanup) await rm(this.paths.workdir, { recursive: true, force: true });
    else await Promise.all((this.opts.transientFiles ?? []).map((p) => rm(p, { force: true })));
  }
}
