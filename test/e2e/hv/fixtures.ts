/**
 * Shared helpers for the hypervisor e2e tests: the standard media (built by `tsx-hv build`,
 * incremental), a booted machine that is always killed at the end of the test, and typed
 * access to the hypervisor's `status` reply.
 */
import type { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareMedia } from '../../../src/scenario/boot.js';
import { startMachine } from '../../../src/engines/start.js';
import type { CpuVendor, EngineMachine, EngineName } from '../../../src/engines/machine.js';
import { execRequest, parseClock, parseExec, type AgentReady } from '../../../src/engines/agent-protocol.js';

export const READY_TIMEOUT_MS = 240_000;

let media: Promise<string> | undefined;
const BUILD_LOCK = 'build/.hv-e2e-build.lock';
const STALE_LOCK_MS = 15 * 60_000;

/**
 * tap runs test files in parallel and `tsx-hv build` writes fixed paths, so the hv e2e files
 * take turns building (an atomic mkdir is the lock; a lock older than 15 min is stale).
 */
async function underBuildLock<T>(work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      mkdirSync(BUILD_LOCK, { recursive: false });
      break;
    } catch {
      try {
        if (Date.now() - statSync(BUILD_LOCK).mtimeMs > STALE_LOCK_MS) rmSync(BUILD_LOCK, { recursive: true, force: true });
      } catch {
        // the holder just released it
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(BUILD_LOCK, { recursive: true, force: true });
  }
}

/** The standard boot media (hypervisor + Debian kernel + agent initramfs), built once. */
export function standardMedia(): Promise<string> {
  mkdirSync('build', { recursive: true });
  media ??= underBuildLock(() => prepareMedia({}));
  return media;
}

/** Media built with extra guest kernel command line arguments (copied aside by prepareMedia). */
export function mediaWithAppend(append: string): Promise<string> {
  mkdirSync('build', { recursive: true });
  return underBuildLock(() => prepareMedia({ append }));
}

export interface Booted {
  m: EngineMachine;
  ready: AgentReady;
  bootMs: number;
}

export interface BootOptions {
  hypervisor?: boolean;
  media?: string;
  firmware?: 'bios' | 'uefi';
  /** Extra QEMU arguments (devices). */
  extraArgs?: readonly string[];
  /** Guest CPUs (QEMU -smp); the engine's default when absent. */
  cpus?: number;
  /** The engine (default QEMU) and, for Bochs, the CPU vendor (default Intel: VT-x). */
  engine?: EngineName;
  cpuVendor?: CpuVendor;
}

/** Boots the standard media (with or without the hypervisor) to the agent's ready line. */
export async function bootToAgent(t: Test, opts: BootOptions = {}): Promise<Booted> {
  const m = await startMachine({
    media: opts.media ?? (await standardMedia()),
    hypervisor: opts.hypervisor ?? true,
    firmware: opts.firmware ?? 'bios',
    ...(opts.extraArgs ? { extraArgs: opts.extraArgs } : {}),
    ...(opts.cpus ? { cpus: opts.cpus } : {}),
    ...(opts.engine ? { engine: opts.engine } : {}),
    ...(opts.cpuVendor ? { cpuVendor: opts.cpuVendor } : {}),
  });
  t.teardown(async () => {
    await m.kill();
  });
  const { ready, bootMs } = await withHvLogOnFailure(t, m, () => m.waitForReady(m.engine === 'qemu' ? READY_TIMEOUT_MS : m.timing.readyMs));
  return { m, ready, bootMs };
}

export interface HvStatusReply {
  speed: string;
  p: number;
  q: number;
  pending: string;
  armed: boolean;
  epochs: number;
  tsc_hz: number;
  real_tsc: number;
  virtual_tsc: number;
  exits: Record<string, number>;
  exits_total: number;
  exits_per_s: number;
  rdtsc_exits_per_s: number;
  host_ns_per_exit: number;
  host_ns_per_exit_window: number;
  host_ns_per_rdtsc_exit: number;
  /** Exceptions the hypervisor injected into the guest (#UD, #GP, #PF from emulation). */
  faults_injected?: number;
  /** Instructions re-executed after an exit instead of emulated. */
  reexecutions?: number;
  /** Guest lines on the hypervisor log port: written, and dropped by the rate limit. */
  log?: { guest_lines: number; guest_suppressed: number };
  /** One entry per CPU in the MADT (every CPU runs under the hypervisor). */
  cpus?: HvCpuStatus[];
}

export interface HvCpuStatus {
  /** Index in the hypervisor (0 = boot CPU). */
  cpu: number;
  apic_id: number;
  /** running: in the guest; wait-for-sipi: parked after an INIT until a STARTUP; offline: never started. */
  state: 'running' | 'wait-for-sipi' | 'offline';
  exits_total: number;
  exits_per_s: number;
  rdtsc: number;
  rdtscp: number;
  hlt: number;
  /** Trapped guest writes to the local APIC page (exits of kind `apic`). */
  apic: number;
  apic_per_s: number;
  /** Real microseconds from the newest speed change to this CPU's first clock read under it. */
  switch_seen_us: number;
  /** How this CPU read the TSC at its latest entry: raw, scaled (hardware TSC scaling, or under SVM at exactly 1x the TSC offset alone; no exits) or trapped. */
  tsc?: 'raw' | 'scaled' | 'trapped' | 'host';
  tsc_path_changes?: number;
}

/** `status` on the control port, parsed. */
export async function hvStatus(m: EngineMachine): Promise<HvStatusReply> {
  const reply = await m.control('status', m.engine === 'bochs' ? 60_000 : 10_000);
  if (!reply.startsWith('ok {')) throw new Error(`status reply is not "ok {json}": ${reply}`);
  return JSON.parse(reply.slice(3)) as HvStatusReply;
}

/** Runs a shell command in the guest through the agent; resolves with exit code and output. */
export async function guestExec(m: EngineMachine, command: string, timeoutMs = 60_000): Promise<{ exit: number; out: string }> {
  // parseExec checks the reply's length: a reply cut short by kernel messages is an error.
  const r = parseExec(await m.agent(execRequest(command), timeoutMs));
  if (r.droppedBytes) throw new Error(`guest exec: ${r.droppedBytes} bytes of output beyond the agent's 64 KiB cap: ${command.slice(0, 80)}`);
  return { exit: r.exitCode, out: r.output };
}

/**
 * Runs `work`; if it throws (typically: the machine stopped), first shows the last lines of the
 * hypervisor port in the test output, where a panic dump or a shutdown reason would be.
 */
export async function withHvLogOnFailure<T>(t: Test, m: EngineMachine, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    t.comment(`hypervisor port, last lines:\n${m.hvLog.slice(-40).join('\n')}`);
    throw e;
  }
}

/** No `# PANIC` line on the hypervisor port. */
export function panics(m: EngineMachine): string[] {
  return m.hvLog.filter((l) => l.startsWith('# PANIC'));
}

/**
 * Builds a static guest program without libc from a C file in this directory (the guest's
 * initramfs has no libc; see guest_harness.h). Returns the binary.
 */
export function buildGuestProgram(source: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'tsx-hv-guestprog-'));
  try {
    const out = join(dir, 'prog');
    execFileSync('gcc', ['-static', '-nostdlib', '-Os', '-fno-stack-protector', '-fno-pie', '-no-pie', '-fno-asynchronous-unwind-tables',
      '-fno-tree-loop-distribute-patterns', '-Wall', '-Wextra', '-Werror', '-Wl,--build-id=none', '-s', '-o', out, join(import.meta.dirname, source)]);
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Writes a file into the guest through the agent's exec, in base64 chunks (a request line holds
 * 96 KiB and the command itself travels base64-encoded), and checks its size afterwards.
 */
export async function installGuestFile(m: EngineMachine, path: string, data: Buffer, mode = 0o755): Promise<void> {
  const b64 = data.toString('base64');
  const CHUNK = 40_000;
  // Slower engines (Bochs) get their own agent budget, never less than a minute.
  const ms = Math.max(60_000, m.timing.agentMs * 2);
  await guestExec(m, `rm -f ${path}.b64`, ms);
  for (let i = 0; i < b64.length; i += CHUNK) {
    const r = await guestExec(m, `echo ${b64.slice(i, i + CHUNK)} >> ${path}.b64`, ms);
    if (r.exit !== 0) throw new Error(`writing ${path} into the guest failed: ${r.out}`);
  }
  const r = await guestExec(m, `base64 -d ${path}.b64 > ${path} && rm ${path}.b64 && chmod ${mode.toString(8)} ${path} && wc -c < ${path}`, ms);
  if (r.exit !== 0 || Number(r.out.trim()) !== data.length) throw new Error(`installing ${path} in the guest failed: ${r.out}`);
}

/** The kernel release string of a bzImage (boot protocol: setup header field kernel_version). */
export function kernelRelease(bzImage: string): string {
  const image = readFileSync(bzImage);
  const at = image.readUInt16LE(0x20e) + 0x200;
  return image.subarray(at, image.indexOf(0, at)).toString().split(' ')[0]!;
}

/**
 * The msr driver (msr.ko) for the standard media's kernel: the guest initramfs carries no
 * modules, and Debian builds CONFIG_X86_MSR as a module. Taken from the matching Debian
 * package (`apt-get download linux-image-RELEASE`) once and cached under build/cache/modules/.
 */
export async function msrModule(): Promise<Buffer> {
  await standardMedia();
  const release = kernelRelease('build/guest/vmlinuz');
  const cached = join('build', 'cache', 'modules', release, 'msr.ko');
  if (!existsSync(cached)) {
    const work = mkdtempSync(join(tmpdir(), 'tsx-hv-msr-'));
    try {
      execFileSync('apt-get', ['download', `linux-image-${release}`], { cwd: work, stdio: 'pipe' });
      const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
      if (!deb) throw new Error(`apt-get download linux-image-${release} produced no .deb`);
      const path = `./lib/modules/${release}/kernel/arch/x86/kernel/msr.ko`;
      const tar = execFileSync('dpkg-deb', ['--fsys-tarfile', join(work, deb)], { maxBuffer: 1 << 30 });
      execFileSync('tar', ['-x', '-C', work, path], { input: tar });
      mkdirSync(join('build', 'cache', 'modules', release), { recursive: true });
      copyFileSync(join(work, path), cached);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return readFileSync(cached);
}

/** An agent clock reading paired with the machine's real TSC of the same moment. */
export interface MachineClockSample {
  monoNs: bigint;
  real: bigint;
}

/**
 * The agent's `clock mark` (CLOCK_MONOTONIC, then the MARK hypercall) and the hypervisor's line
 * for that mark: the machine's real TSC when the guest read its clock (docs/hypercall.md). Where
 * the engine's time is not the host's (Bochs), speeds are measured against this.
 */
export async function machineClockSample(m: EngineMachine): Promise<MachineClockSample> {
  const c = parseClock(await m.agent('clock mark', m.timing.agentMs * 2));
  if (c.mark === undefined) throw new Error('the agent made no MARK hypercall (not under tsx-hv?)');
  const re = new RegExp(`^# tsx-hv: mark ${c.mark} cpu \\d+ real (\\d+) virtual \\d+$`);
  for (let i = 0; i < 600; i++) {
    const line = m.hvLog.find((l) => re.test(l));
    if (line) return { monoNs: c.monoNs, real: BigInt(re.exec(line)![1]!) };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no hypervisor line for mark ${c.mark}`);
}

/** The guest clock's rate against the machine's time over about `seconds` of host time. */
export async function measureMachineSpeed(m: EngineMachine, seconds: number): Promise<{ speed: number; machineSeconds: number }> {
  const a = await machineClockSample(m);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const b = await machineClockSample(m);
  const hz = (await hvStatus(m)).tsc_hz as number;
  const machineSeconds = Number(b.real - a.real) / hz;
  return { speed: Number(b.monoNs - a.monoNs) / 1e9 / machineSeconds, machineSeconds };
}
