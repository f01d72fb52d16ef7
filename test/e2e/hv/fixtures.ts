/**
 * Shared helpers for the hypervisor e2e tests: the standard media (built by `tsx-hv build`,
 * incremental), a booted machine that is always killed at the end of the test, and typed
 * access to the hypervisor's `status` reply.
 */
import type { Test } from 'tap';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { prepareMedia } from '../../../src/scenario/boot.js';
import { startMachine } from '../../../src/engines/start.js';
import type { EngineMachine } from '../../../src/engines/machine.js';
import type { AgentReady } from '../../../src/engines/agent-protocol.js';

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
}

/** Boots the standard media (with or without the hypervisor) to the agent's ready line. */
export async function bootToAgent(t: Test, opts: BootOptions = {}): Promise<Booted> {
  const m = await startMachine({
    media: opts.media ?? (await standardMedia()),
    hypervisor: opts.hypervisor ?? true,
    firmware: opts.firmware ?? 'bios',
    ...(opts.extraArgs ? { extraArgs: opts.extraArgs } : {}),
  });
  t.teardown(async () => {
    await m.kill();
  });
  const { ready, bootMs } = await m.waitForReady(READY_TIMEOUT_MS);
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
}

/** `status` on the control port, parsed. */
export async function hvStatus(m: EngineMachine): Promise<HvStatusReply> {
  const reply = await m.control('status', 10_000);
  if (!reply.startsWith('ok {')) throw new Error(`status reply is not "ok {json}": ${reply}`);
  return JSON.parse(reply.slice(3)) as HvStatusReply;
}

/** Runs a shell command in the guest through the agent; resolves with exit code and output. */
export async function guestExec(m: EngineMachine, command: string, timeoutMs = 60_000): Promise<{ exit: number; out: string }> {
  const payload = await m.agent(`exec ${Buffer.from(command).toString('base64')}`, timeoutMs);
  const match = /exit=(-?\d+) out=(\S*)/.exec(payload);
  if (!match) throw new Error(`unexpected exec reply: ${payload}`);
  return { exit: Number(match[1]), out: Buffer.from(match[2]!, 'base64').toString() };
}

/** No `# PANIC` line on the hypervisor port. */
export function panics(m: EngineMachine): string[] {
  return m.hvLog.filter((l) => l.startsWith('# PANIC'));
}
