/**
 * The one `--json` document: `passed`, `exitCode`, the scenarios, and `steps[]` across all of
 * them (each with its scenario's name). Measuring steps carry requested, measured, errorPct,
 * r2, samples and backwardsNs; raw samples are left to NDJSON (--samples).
 */
import { publicStep, type RunSummary, type StepResult } from '../result.js';

export interface JsonDocument {
  passed: boolean;
  exitCode: number;
  durationMs: number;
  scenarios: { name: string; source: string; status: string; passed: boolean; durationMs: number; message?: string }[];
  steps: (Omit<StepResult, 'raw'> & { scenario: string })[];
}

export function jsonDocument(summary: RunSummary): JsonDocument {
  return {
    passed: summary.passed,
    exitCode: summary.exitCode,
    durationMs: summary.durationMs,
    scenarios: summary.scenarios.map(({ steps: _steps, ...s }) => s),
    steps: summary.scenarios.flatMap((s) => s.steps.map((r) => ({ scenario: s.name, ...publicStep(r) }))),
  };
}
