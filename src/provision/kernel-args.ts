import { UsageError } from '../errors.js';

/**
 * Kernel command line arithmetic shared by every boot loader flavour: which arguments provision
 * adds, and how they merge into an existing line without duplicates.
 */
export const REQUIRED_KERNEL_ARGS = ['tsc=reliable'] as const;

const SAFE_ARG = /^[A-Za-z0-9_.,:=/+@-]+$/;

/** The arguments to add: tsc=reliable plus the user's `--append` ones, validated. */
export function kernelArgs(extra: readonly string[] = []): string[] {
  const args: string[] = [...REQUIRED_KERNEL_ARGS];
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
