import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { TsxHvError, UsageError } from '../errors.js';
import { locateTool } from '../doctor/locate.js';
import { parseTargetSpec } from '../provision/target.js';
import { shellJoin } from '../provision/shell-quote.js';
import type { AgentReady } from './agent-protocol.js';
import { ENGINE_TIMING, type EngineMachine, type MachineExit, type PowerOffMethod } from './machine.js';
import { track } from './reaper.js';
import { SerialMachine, type PowerOffStep } from './serial-machine.js';

/**
 * A machine tsx-hv did not start: a lab machine (or any host) already running under the
 * hypervisor with the guest agent installed (`tsx-hv provision --agent`), reached over ssh. The
 * host runs `tsx-hv-agent serve -` there, which speaks the same request protocol on its standard
 * input and output as on the emulator's console (docs/guest-image.md), so clock samples are
 * paired over the network with the same round-trip correction, and the speed is changed through
 * the agent's hypercalls. There is no hypervisor port (`control` fails with a clear error: use
 * `tsx-hv ctl --port` on a serial cable), no keys, and ending the session never powers the
 * machine off: `powerOff` only closes the ssh session.
 */
export const REMOTE_AGENT = '/usr/local/sbin/tsx-hv-agent';

export interface RemoteOptions {
  /** ssh://[user@]host[:port] */
  target: string;
  /** ssh private key (-i). */
  identity?: string;
  /** More `ssh -o` options, e.g. StrictHostKeyChecking=accept-new. */
  sshOptions?: readonly string[];
  /** The agent's path on the target (default /usr/local/sbin/tsx-hv-agent, where provision puts it). */
  agentPath?: string;
}

/** The ssh command line: BatchMode (keys or agent, never a password prompt), the remote agent, through sudo -n unless root. */
export function remoteSshArgs(opts: RemoteOptions): string[] {
  const spec = parseTargetSpec(opts.target);
  if (spec.kind !== 'ssh') throw new UsageError(`a target machine is reached over ssh: ssh://[user@]host[:port], not "${opts.target}"`);
  const args = ['-T', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=15', '-o', 'ServerAliveInterval=5', '-o', 'ServerAliveCountMax=3'];
  if (spec.port) args.push('-p', String(spec.port));
  if (opts.identity) args.push('-i', opts.identity);
  for (const o of opts.sshOptions ?? []) args.push('-o', o);
  args.push(spec.user ? `${spec.user}@${spec.host}` : spec.host);
  const agent = [opts.agentPath ?? REMOTE_AGENT, 'serve', '-'];
  const sudo = spec.user && spec.user !== 'root' ? ['sudo', '-n'] : [];
  args.push('--', shellJoin(['exec', ...sudo, ...agent]));
  return args;
}

class RemoteMachine extends SerialMachine {
  readonly target: string;
  /** What ssh itself printed (authentication, host key, connection errors). */
  readonly sshErrors: Buffer[] = [];

  constructor(opts: ConstructorParameters<typeof SerialMachine>[0] & { target: string }) {
    super(opts);
    this.target = opts.target;
  }

  override async waitForReady(timeoutMs = this.timing.readyMs): Promise<{ ready: AgentReady; bootMs: number }> {
    try {
      return await super.waitForReady(timeoutMs);
    } catch (err) {
      const said = Buffer.concat(this.sshErrors).toString('utf8').trim().split('\n').slice(-3).join('; ');
      if (!this.running) {
        throw new TsxHvError('SSH_FAILED', `ssh to ${this.target} ended before its tsx-hv agent answered${said ? `: ${said}` : ''}`, {
          hint: `the target needs the agent (tsx-hv provision --agent ${this.target}) and must accept your key in BatchMode; a non-root user needs passwordless sudo`,
        });
      }
      throw err;
    }
  }

  attach(console: Socket, hv: Socket): void {
    this.attachPorts(console, hv);
  }

  override control(): Promise<string> {
    return Promise.reject(new TsxHvError('NO_CONTROL_PORT', `${this.target} is reached over ssh: it has no hypervisor control port here`, { hint: 'change the speed through the agent (via: hypercall), or wire the control port: tsx-hv ctl --port /dev/ttyUSB0' }));
  }

  sendKeys(): Promise<void> {
    return Promise.reject(new TsxHvError('NO_KEYBOARD', `${this.target} is reached over ssh: tsx-hv cannot press its keys`, { hint: 'change the speed through the agent (via: hypercall)' }));
  }

  protected powerOffSteps(): PowerOffStep[] {
    return [];
  }

  /** Ends the session: the machine itself keeps running (it is somebody's lab machine). */
  override async powerOff(): Promise<MachineExit & { method: PowerOffMethod }> {
    if (!this.running) return { ...(await this.exited), method: 'already-off' };
    await this.kill();
    return { ...(await this.exited), method: 'detach' };
  }
}

/** Connects to the target's agent; resolves once the ssh session runs (wait for the ready line next). */
export async function startRemote(opts: RemoteOptions): Promise<EngineMachine> {
  const args = remoteSshArgs(opts);
  const ssh = await locateTool('ssh');
  const workdir = await mkdtemp(join(tmpdir(), 'tsx-hv-remote-'));
  const startedAt = performance.now();
  const child = execa(ssh, args, { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', reject: false, buffer: false });
  track(child);
  const machine = new RemoteMachine({
    engine: 'ssh',
    program: 'ssh',
    hypervisor: true,
    target: opts.target,
    paths: { workdir, console: opts.target, consoleLog: join(workdir, 'console.log'), hv: '', hvLog: join(workdir, 'hv.log'), engineLog: join(workdir, 'ssh.stderr') },
    timing: ENGINE_TIMING.ssh,
    startedAt,
    child,
    cleanup: false,
    writeLogs: true,
  });
  // The session's two directions as one duplex "console"; the hypervisor port never speaks.
  const console = new PassThrough();
  child.stdout!.on('data', (d: Buffer) => console.push(d));
  console._write = (chunk: Buffer, _enc, cb) => {
    child.stdin!.write(chunk);
    cb();
  };
  child.stdin!.on('error', () => undefined);
  child.stderr!.on('data', (d: Buffer) => machine.sshErrors.push(d));
  machine.attach(console as unknown as Socket, new PassThrough() as unknown as Socket);
  return machine;
}
