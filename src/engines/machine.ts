import type { EventEmitter } from 'node:events';
import type { AgentReady } from './agent-protocol.js';

/**
 * Where a machine runs (COMMON contract "Engine API"). An engine boots boot media, gives the
 * host the guest console (where the guest agent answers), the hypervisor's serial port (log and
 * control protocol), keys and power.
 */
export type EngineName = 'qemu';

export const ENGINES: readonly EngineName[] = ['qemu'];

export interface MachineOptions {
  engine?: EngineName;
  /** Boot media: an ISO (CD) or a raw disk image. Default: build/media/tsx-hv.iso. */
  media?: string;
  /** Guest memory in QEMU syntax (default 512M). */
  memory?: string;
  cpus?: number;
  /** false boots the media's baseline entry: the same Linux without the hypervisor. */
  hypervisor?: boolean;
  firmware?: 'bios' | 'uefi';
  /** Delete the work directory (sockets and logs) when the machine is gone. Default false. */
  cleanup?: boolean;
  /** Extra emulator arguments (experiments). */
  extraArgs?: readonly string[];
  /** Called with each hypervisor log line as it arrives. */
  onHvLog?: (line: string) => void;
}

export interface MachinePaths {
  workdir: string;
  /** Unix socket of the guest console (serial 0); held by this process while it runs. */
  console: string;
  consoleLog: string;
  /** Unix socket of the hypervisor port (serial 1); held by this process while it runs. */
  hv: string;
  hvLog: string;
  qmp: string;
  /** The emulator's own stderr. */
  engineLog: string;
}

export interface MachineExit {
  code: number | null;
  signal: string | null;
}

export type PowerOffMethod = 'agent' | 'acpi' | 'quit' | 'kill' | 'already-off';

export interface MachineConsoleEvents {
  data: [Buffer];
  line: [string];
}

export interface EngineMachine {
  readonly engine: EngineName;
  readonly hypervisor: boolean;
  readonly paths: MachinePaths;
  /** performance.now() when the emulator was started. */
  readonly startedAt: number;
  /** Raw console output ('data') and complete console lines ('line'). */
  readonly console: EventEmitter<MachineConsoleEvents>;
  /** Every line from the hypervisor port that was not a control reply. */
  readonly hvLog: readonly string[];
  /** Settles when the emulator process has exited. */
  readonly exited: Promise<MachineExit>;
  readonly running: boolean;
  /** Types into the guest console. */
  writeConsole(data: string | Buffer): void;
  /** Resolves with the first console line (after the previous match) that matches. */
  waitFor(pattern: RegExp | string, timeoutMs: number): Promise<string>;
  /** Waits for the agent's ready line; bootMs is emulator start -> ready line. */
  waitForReady(timeoutMs: number): Promise<{ ready: AgentReady; bootMs: number }>;
  /** One agent request; resolves with the reply payload, throws AgentError on `err`. */
  agent(command: string, timeoutMs?: number): Promise<string>;
  /** One control command on the hypervisor port; resolves with the reply line. */
  control(line: string, timeoutMs?: number): Promise<string>;
  /** QMP send-key with QEMU key names, e.g. ['ctrl', 'alt', 'f12']. */
  sendKeys(keys: readonly string[], holdTimeMs?: number): Promise<void>;
  /** Clean power-off: agent poweroff, then ACPI power button, then QMP quit, then SIGKILL. */
  powerOff(timeoutMs?: number): Promise<MachineExit & { method: PowerOffMethod }>;
  /** Immediate SIGKILL. */
  kill(): Promise<MachineExit>;
}
