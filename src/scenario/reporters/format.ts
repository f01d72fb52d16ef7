/**
 * Number formatting shared by the reporters, so the table, TAP and JUnit print the same figures.
 */
import type { StepResult } from '../result.js';

export function fmtSpeed(v: number | undefined): string {
  if (v === undefined) return '';
  return `${Number(v.toPrecision(6))}x`;
}

export function fmtPct(v: number | undefined): string {
  if (v === undefined) return '';
  return `${v >= 0 ? '+' : ''}${v.toFixed(2)}%`;
}

export function fmtR2(v: number | undefined): string {
  return v === undefined ? '' : v.toFixed(6);
}

export function fmtSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** One line with a step's measured figures, e.g. `60x -> 59.98x (-0.03%), R² 0.999999, 412 samples, backwards 0 ns`. */
export function figures(r: StepResult): string {
  if (r.measured === undefined) return '';
  return `${fmtSpeed(r.requested)} -> ${fmtSpeed(r.measured)} (${fmtPct(r.errorPct)}), R² ${fmtR2(r.r2)}, ${r.samples} samples, backwards ${r.backwardsNs} ns`;
}
