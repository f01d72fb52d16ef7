import { UsageError } from '../errors.js';

/**
 * A guest speed as an exact fraction p/q (60 = 60/1, 0.1 = 1/10). The hypervisor's time model
 * works in fractions (control command `speed P/Q`, hypercall SET_SPEED with RBX = p, RCX = q), so
 * a speed never goes through a lossy float on its way there.
 */
export interface Speed {
  p: number;
  q: number;
}

const MAX_DENOMINATOR = 1_000_000;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Parse `60`, `0.5`, `"1/10"` or `"60"`; throws UsageError for anything that is not a positive speed. */
export function parseSpeed(value: number | string): Speed {
  if (typeof value === 'string') {
    const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(?:\/\s*([0-9]+)\s*)?$/.exec(value);
    if (!m) throw new UsageError(`speed "${value}" is not a number or a fraction P/Q`);
    const num = parseSpeed(Number(m[1]));
    const den = m[2] === undefined ? 1 : Number(m[2]);
    if (den === 0) throw new UsageError(`speed "${value}" divides by zero`);
    return reduce(num.p, num.q * den);
  }
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`speed ${value} must be a positive number`);
  let q = 1;
  while (!Number.isInteger(value * q) && q < MAX_DENOMINATOR) q *= 10;
  return reduce(Math.round(value * q), q);
}

function reduce(p: number, q: number): Speed {
  const g = gcd(p, q);
  return { p: p / g, q: q / g };
}

export function speedValue(s: Speed): number {
  return s.p / s.q;
}

/** The argument of the control command and the agent's `speed` command: `60` or `1/10`. */
export function speedArgument(s: Speed): string {
  return s.q === 1 ? String(s.p) : `${s.p}/${s.q}`;
}

/** Human form: `60x`, `0.5x`, `1/3x`. */
export function formatSpeed(s: Speed): string {
  const v = speedValue(s);
  const short = Number(v.toPrecision(6));
  return (short === v ? String(v) : speedArgument(s)) + 'x';
}

export function sameSpeed(a: Speed, b: Speed): boolean {
  return a.p * b.q === b.p * a.q;
}
