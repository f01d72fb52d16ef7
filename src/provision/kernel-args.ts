import { UsageError } from '../errors.js';

/**
 * Kernel command line arithmetic shared by every boot loader flavour: which arguments provision
 * adds, and how they merge into an existing line without duplicates.
 */
export const REQUIRED_KERNEL_ARGS = ['tsc=reliable'] as const;

/**
 * Linux's own watchdogs measure guest time against thresholds of seconds: the soft- and
 * hard-lockup detectors (10-20 s), RCU's CPU stall warning (21 s), the hung-task check (120 s)
 * and the workqueue watchdog (30 s). At 10000x, 2 ms of host time is 20 s of guest time, and
 * any pause of the machine (an interrupt storm, a slow device) trips them; at 1/1000x the
 * hard-lockup detector's NMI (real cycles) sees no timer interrupts for hours of real time.
 * `--extreme-speeds` switches them off (docs/provision.md).
 */
export const EXTREME_SPEED_KERNEL_ARGS = ['nowatchdog', 'rcupdate.rcu_cpu_stall_suppress=1', 'sysctl.kernel.hung_task_timeout_secs=0', 'workqueue.watchdog_thresh=0'] as const;

const SAFE_ARG = /^[A-Za-z0-9_.,:=/+@-]+$/;

/** The arguments to add: tsc=reliable plus the user's `--append` ones, validated. */
export function kernelArgs(extra: readonly string[] = [], opts: { extremeSpeeds?: boolean } = {}): string[] {
  const args: string[] = [...REQUIRED_KERNEL_ARGS, ...(opts.extremeSpeeds ? EXTREME_SPEED_KERNEL_ARGS : [])];
  for (const chunk of extra) {
    for (const arg of chunk.split(/\s+/).filter(Boolean)) {
      if (!SAFE_ARG.test(arg)) throw new UsageError(`kernel argument "${arg}" contains characters provision will not write into boot configuration`, 'use plain key=value arguments (letters, digits and _ . , : = / + @ -)');
      if (!args.includes(arg)) args.push(arg);
    }
  }
  return args;
}

function key(arg: string): string {
  const eq = arg.indexOf('=');
  return eq < 0 ? arg : arg.slice(0, eq);
}

/**
 * Add `args` to a space-separated command line. An argument already present is left alone; one
 * with the same key and a different value (tsc=unstable) is replaced, because the kernel takes
 * the last one and a contradictory pair confuses whoever reads the line.
 */
export function mergeKernelArgs(line: string, args: readonly string[]): string {
  let tokens = line.split(/\s+/).filter(Boolean);
  for (const arg of args) {
    if (tokens.includes(arg)) continue;
    if (arg.includes('=')) tokens = tokens.filter((t) => !(t.includes('=') && key(t) === key(arg)));
    tokens.push(arg);
  }
  return tokens.join(' ');
}

export function hasKernelArgs(line: string, args: readonly string[]): boolean {
  const tokens = line.split(/\s+/).filter(Boolean);
  return args.every((a) => tokens.includes(a));
}
