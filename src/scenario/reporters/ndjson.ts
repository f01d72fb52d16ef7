/**
 * NDJSON events, one JSON object per line, for machines and for keeping the evidence: a
 * `run-start`, one `step` event per finished step carrying its raw clock samples (host midpoint
 * ns, round trip ns, guest CLOCK_MONOTONIC/CLOCK_REALTIME ns and raw TSC, all as decimal strings
 * because they exceed 2^53), a `scenario-end` per scenario and a `run-end`.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { bigintReplacer } from '../../util/render.js';
import type { Reporter } from '../result.js';

export function ndjsonReporter(write: (line: string) => void): Reporter {
  const emit = (event: Record<string, unknown>): void => write(JSON.stringify(event, bigintReplacer) + '\n');
  return {
    runStart: (scenarios) => emit({ event: 'run-start', time: new Date().toISOString(), scenarios: scenarios.map((s) => ({ name: s.name, source: s.source, steps: s.steps.length })) }),
    stepEnd: (s, r) => emit({ event: 'step', scenario: s.name, ...r }),
    scenarioEnd: (_s, r) => emit({ event: 'scenario-end', name: r.name, status: r.status, passed: r.passed, durationMs: r.durationMs, message: r.message }),
    runEnd: (sum) => emit({ event: 'run-end', passed: sum.passed, exitCode: sum.exitCode, durationMs: sum.durationMs }),
  };
}

/** NDJSON into a file (--samples FILE); the file is complete when runEnd resolves. */
export function ndjsonFileReporter(file: string): Reporter {
  const stream = createWriteStream(file);
  const inner = ndjsonReporter((line) => stream.write(line));
  return {
    ...inner,
    runEnd: async (sum) => {
      inner.runEnd!(sum);
      stream.end();
      await once(stream, 'finish');
    },
  };
}
