import { TimeoutError } from '../errors.js';
import { hasKernelArgs } from './kernel-args.js';
import type { Target } from './target.js';

/**
 * Verification on a live host: after provisioning and a reboot, is the kernel running with the
 * arguments, and is its clocksource the TSC?
 */
export interface Verification {
  cmdline: string;
  argsActive: boolean;
  clocksource: string | null;
  clocksourceIsTsc: boolean;
  bootId: string;
}

export async function verifyLive(target: Target, args: readonly string[]): Promise<Verification> {
  const cmdline = (await target.exec(['cat', '/proc/cmdline'])).stdout.trim();
  const cs = await target.exec(['cat', '/sys/devices/system/clocksource/clocksource0/current_clocksource'], { allowFailure: true });
  const clocksource = cs.exitCode === 0 ? cs.stdout.trim() : null;
  return { cmdline, argsActive: hasKernelArgs(cmdline, args), clocksource, clocksourceIsTsc: clocksource === 'tsc', bootId: await bootId(target) };
}

export async function bootId(target: Target): Promise<string> {
  return (await target.exec(['cat', '/proc/sys/kernel/random/boot_id'])).stdout.trim();
}

/**
 * Reboot a live host and wait until it answers again with a new boot id. `reopen` builds a
 * fresh connection (the old multiplexed one dies with the host).
 */
export async function rebootAndWait(target: Target, reopen: () => Promise<Target>, timeoutMs = 600_000, pollMs = 5_000): Promise<Target> {
  const before = await bootId(target);
  await target.exec(['systemctl', 'reboot'], { allowFailure: true });
  await target.close();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, pollMs));
    const next = await reopen().catch(() => null);
    if (!next) continue;
    const id = await bootId(next).catch(() => before);
    if (id !== before) return next;
    await next.close();
  }
  throw new TimeoutError(`${target.spec} did not come back from the reboot within ${Math.round(timeoutMs / 1000)} s`, 'check the machine console; the provision changes stay in place (revert with --revert)');
}
