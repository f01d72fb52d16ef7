import type { EventEmitter } from 'node:events';
import type { AgentReady } from './agent-protocol.js';

/**
 * Where a machine runs (COMMON contract "Engine API"). An engine boots boot media, gives the
 * host the guest console (where the guest agent answers), the hypervisor's serial port (log and
 * control protocol), keys and power.
 *
 * - `qemu`: QEMU TCG with an AMD SVM CPU model (src/engines/qemu.ts).
 * - `bochs`: Bochs 2.7 with an Intel VT-x (default) or AMD SVM CPU model (src/engines/bochs.ts).
 */
export type EngineName = 'qemu' | 'bochs' | 'ssh';

/** The engines that start machines (`--engine`); `ssh` reaches a running one (`--target`, src/engines/remote.ts). */
export const ENGINES: readonly EngineName[] = ['qemu', 'bochs'];

/** The CPU vendor an engine emulates: Intel (VT-x) or AMD (SVM). */
export type CpuVendor = 'intel' | 'amd';

export const CPU_VENDORS: readonly CpuVendor[] = ['intel', 'amd'];

/**
 * Host-time limits that depend on how fast an engine runs a guest. QEMU's were measured under
 * TCG on a loaded 2-core host (docs/run.md); Bochs interprets every instruction and boots the same
 * Linux to the agent in 150-250 s instead of 30-100 s, and while the guest idles in MWAIT a
 * control reply waits for its next exit (up to 10 s, docs/hypervisor.md), so its limits are
 * larger (docs/engines.md).
 */
export interface EngineTiming {
  /** Emulator start -> the agent's ready line. */
  readyMs: number;
  /** One agent request (clock, status, a short exec). */
  agentMs: number;
  /** One control-port reply. */
  controlMs: number;
  /** The whole clean power-off sequence before SIGKILL. */
  powerOffMs: number;
  /** How many times QEMU's other limits (scenario steps, long execs) this engine gets. */
  scale: number;
}

export const ENGINE_TIMING: Readonly<Record<EngineName, EngineTiming>> = {
  qemu: { readyMs: 300_000, agentMs: 10_000, controlMs: 5_000, powerOffMs: 15_000, scale: 1 },
  bochs: { readyMs: 900_000, agentMs: 60_000, controlMs: 30_000, powerOffMs: 60_000, scale: 4 },
  // A running machine over ssh: the ready line comes as soon as the session is up.
  ssh: { readyMs: 60_000, agentMs: 10_000, controlMs: 5_000, powerOffMs: 5_000, scale: 1 },
};

export interface MachineOptions {
  engine?: EngineName;
  /** Boot media: an ISO (CD) or a raw disk image. Default: build/media/tsx-hv.iso. */
  media?: string;
  /**
   * The machine's own disks (raw or .qcow2 images), attached writable after the media (QEMU
   * only). Copy an image first to keep the original.
   */
  disks?: readonly string[];
  /**
   * 'disk': no media; the machine boots its first disk's own boot loader. 'chain': the media's
   * chain entry, the first disk's OS starting underneath the hypervisor (BIOS: its boot sector;
   * UEFI: the firmware's next boot option; QEMU; docs/installed-os.md). Default 'media'.
   */
  boot?: 'media' | 'disk' | 'chain';
  /** Guest memory in QEMU syntax (default 512M). */
  memory?: string;
  cpus?: number;
  /** false boots the media's baseline entry: the same Linux without the hypervisor. */
  hypervisor?: boolean;
  firmware?: 'bios' | 'uefi';
  /** Bochs only: the CPU model's vendor (default intel: VT-x). QEMU emulates AMD SVM only. */
  cpuVendor?: CpuVendor;
  /** Bochs only: emulated instructions per second, the rate of the guest's TSC. */
  ips?: number;
  /** Delete the work directory (sockets and logs) when the machine is gone. Default false. */
  cleanup?: boolean;
  /** Extra emulator arguments (experiments): QEMU arguments, or bochsrc lines for Bochs. */
  extraArgs?: readonly string[];
  /** Called with each hypervisor log line as it arrives. */
  onHvLog?: (line: string) => void;
}

export interface MachinePaths {
  workdir: string;
  /**
   * The guest console (serial 0), held by this process while it runs: a Unix socket path (QEMU)
   * or `host:port` of a TCP server on the loopback interface (Bochs).
   */
  console: string;
  consoleLog: string;
  /** The hypervisor port (serial 1), held by this process while it runs: as `console`. */
  hv: string;
  hvLog: string;
  /** QMP socket (QEMU only). */
  qmp?: string;
  /** `host:port` of the display's RFB (VNC) server, through which keys are typed (Bochs only). */
  rfb?: string;
  /** The emulator's own stderr (Bochs: stdout and stderr). */
  engineLog: string;
  /** The emulator's log file, when it keeps one besides stderr (Bochs: bochs.log). */
  emulatorLog?: string;
}

export interface MachineExit {
  code: number | null;
  signal: string | null;
}

/** How a machine went off; `detach`: a remote machine's session was closed, the machine runs on. */
export type PowerOffMethod = 'agent' | 'acpi' | 'quit' | 'term' | 'kill' | 'already-off' | 'detach';

export interface MachineConsoleEvents {
  data: [Buffer];
  line: [string];
}

export interface EngineMachine {
  readonly engine: EngineName;
  readonly hypervisor: boolean;
  readonly paths: MachinePaths;
  /** This engine's host-time limits (the defaults of the methods below). */
  readonly timing: EngineTiming;
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
  waitForReady(timeoutMs?: number): Promise<{ ready: AgentReady; bootMs: number }>;
  /** One agent request; resolves with the reply payload, throws AgentError on `err`. */
  agent(command: string, timeoutMs?: number): Promise<string>;
  /** One control command on the hypervisor port; resolves with the reply line. */
  control(line: string, timeoutMs?: number): Promise<string>;
  /**
   * Presses a key combination, QEMU key names, e.g. ['ctrl', 'alt', 'f12'] (QEMU: QMP send-key;
   * Bochs: RFB key events), and releases it after holdTimeMs.
   */
  sendKeys(keys: readonly string[], holdTimeMs?: number): Promise<void>;
  /**
   * Clean power-off: agent poweroff, then the engine's own ways (QEMU: ACPI power button, QMP
   * quit; Bochs: SIGTERM), then SIGKILL.
   */
  powerOff(timeoutMs?: number): Promise<MachineExit & { method: PowerOffMethod }>;
  /** Immediate SIGKILL. */
  kill(): Promise<MachineExit>;
}
