import { UsageError } from '../errors.js';

/**
 * A guest speed as an exact, reduced fraction p/q (60 = 60/1, 0.1 = 1/10). The hypervisor's time
 * model works in fractions (control command `speed P/Q`, hypercall SET_SPEED with RBX = p,
 * RCX = q), so a speed never goes through a lossy float on its way there.
 *
 * This is the one parser of speeds: `tsx-hv test --speed`, scenario files, `tsx-hv ctl speed` and
 * the library (`Machine.speed()`) all accept and refuse the same values with the same messages
 * (docs/cli.md, "Speeds"):
 * - a whole number (`60`), a fraction `P/Q` of whole numbers (`1/10`, `4/6` = 2/3) or a decimal
 *   with at most 6 digits after the point (`0.5`, `2.25`; trailing zeros do not count), which
 *   becomes the exact fraction (0.125 = 1/8); a JavaScript number is read as its shortest decimal
 *   form (0.1 is "0.1", 1/3 is refused: write "1/3");
 * - reduced, then within the hypervisor's range, 1/1000 to 10000 inclusive (hv-core/include/
 *   vtime.h, VTIME_SPEED_MIN_DEN and VTIME_SPEED_MAX);
 * - with reduced P and Q of at most 9 digits each: the control protocol reads no longer numbers
 *   (hv-core/src/control/control_protocol.c, MAX_DIGITS).
 */
export interface Speed {
  p: number;
  q: number;
}

/** The hypervisor's range: 1/SPEED_MIN_DENOMINATOR .. SPEED_MAX times real time, inclusive. */
export const SPEED_MAX = 10_000;
export const SPEED_MIN_DENOMINATOR = 1_000;
/** Digits after the decimal point a decimal speed may have. */
export const SPEED_DECIMAL_DIGITS = 6;
/** Largest P or Q the control protocol accepts (9 decimal digits). */
export const SPEED_TERM_MAX = 999_999_999;

const SYNTAX_HINT = 'use a whole number (60), a fraction P/Q (1/10) or a decimal with at most 6 digits after the point (0.5)';
const RANGE = `the hypervisor runs guests from 1/${SPEED_MIN_DENOMINATOR} to ${SPEED_MAX} times real time`;

const DECIMAL = /^([+-]?)([0-9]+)(?:\.([0-9]+))?$/;
const FRACTION = /^([+-]?)([0-9]+)\s*\/\s*([+-]?)([0-9]+)$/;

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function invalid(shown: string): UsageError {
  return new UsageError(`speed ${shown} is not a speed: ${SYNTAX_HINT}`, 'e.g. 60, 1/10 or 0.5; the rules are in docs/cli.md, "Speeds"');
}

function outOfRange(shown: string): UsageError {
  return new UsageError(`speed ${shown} is out of range: ${RANGE}`, `choose a speed from 1/${SPEED_MIN_DENOMINATOR} (0.001) to ${SPEED_MAX}`);
}

/** Reduce p/q (q > 0) and check the range. */
function inRange(shown: string, negative: boolean, p: bigint, q: bigint): [bigint, bigint] {
  if (negative || p === 0n) throw outOfRange(shown);
  const g = gcd(p, q);
  if (p / g > BigInt(SPEED_MAX) * (q / g) || (p / g) * BigInt(SPEED_MIN_DENOMINATOR) < q / g) throw outOfRange(shown);
  return [p / g, q / g];
}

/** Reduce p/q (q > 0), then check the range and the protocol's term size. */
function checked(shown: string, negative: boolean, rawP: bigint, rawQ: bigint): Speed {
  const [p, q] = inRange(shown, negative, rawP, rawQ);
  if (p > BigInt(SPEED_TERM_MAX) || q > BigInt(SPEED_TERM_MAX)) {
    throw new UsageError(`speed ${shown} reduces to ${p}/${q}, whose terms are longer than the 9 digits the hypervisor's control protocol reads`, 'use a simpler fraction, e.g. fewer digits after the point');
  }
  return { p: Number(p), q: Number(q) };
}

function parseText(text: string, shown: string): Speed {
  const s = text.trim();
  const fraction = FRACTION.exec(s);
  if (fraction) {
    const [, signP, p, signQ, q] = fraction as unknown as [string, string, string, string, string];
    if (BigInt(q) === 0n) throw new UsageError(`speed ${shown} divides by zero`, SYNTAX_HINT);
    return checked(shown, signP === '-' || signQ === '-', BigInt(p), BigInt(q));
  }
  const decimal = DECIMAL.exec(s);
  if (!decimal) throw invalid(shown);
  const [, sign, whole, rawDigits] = decimal as unknown as [string, string, string, string | undefined];
  const digits = (rawDigits ?? '').replace(/0+$/, '');
  const [p, q] = [BigInt(whole + digits), 10n ** BigInt(digits.length)];
  if (digits.length > SPEED_DECIMAL_DIGITS) {
    inRange(shown, sign === '-', p, q); // out of range says so first: "0.0000001" is too slow before it is too precise
    throw new UsageError(`speed ${shown} has more than ${SPEED_DECIMAL_DIGITS} digits after the point`, 'write it as a fraction P/Q (e.g. 1/3 instead of 0.3333333)');
  }
  return checked(shown, sign === '-', p, q);
}

/**
 * Parse a speed: `60`, `0.5`, `"1/10"`, `"60"`, or a Speed object (checked and reduced). Throws a
 * UsageError (exit 2) for anything that is not a speed the hypervisor accepts.
 */
export function parseSpeed(value: number | string | Speed): Speed {
  if (typeof value === 'string') return parseText(value, JSON.stringify(value));
  if (typeof value === 'number') {
    const shown = String(value);
    if (!Number.isFinite(value)) throw invalid(shown);
    // Outside the range first: those are the only numbers whose shortest form is exponential (1e-7, 1e21).
    if (value <= 0 || value > SPEED_MAX || value < 1 / SPEED_MIN_DENOMINATOR) throw outOfRange(shown);
    return parseText(shown, shown);
  }
  const shown = `${value.p}/${value.q}`;
  if (!Number.isSafeInteger(value.p) || !Number.isSafeInteger(value.q)) throw invalid(shown);
  if (value.q === 0) throw new UsageError(`speed ${shown} divides by zero`, SYNTAX_HINT);
  return checked(shown, value.p < 0 || value.q < 0, BigInt(Math.abs(value.p)), BigInt(Math.abs(value.q)));
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
