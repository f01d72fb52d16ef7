/**
 * Sets of scenarios: the ones shipped in scenarios/, loading several files with every problem
 * reported at once, and preparing the boot media they need before any machine starts (builds
 * run one at a time, outside the per-step time limits).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../builder/layout.js';
import { prepareMedia } from './boot.js';
import { ScenarioError, loadScenario, type ScenarioProblem } from './load.js';
import type { Scenario } from './schema.js';

export function shippedScenarioDir(): string {
  return join(packageRoot(), 'scenarios');
}

/** The shipped scenario files, sorted by name. */
export async function shippedScenarioFiles(dir = shippedScenarioDir()): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  return names.map((n) => join(dir, n));
}

/** Load every file; if any is invalid, throw one ScenarioError listing the problems of all of them. */
export async function loadScenarios(files: readonly string[]): Promise<Scenario[]> {
  const problems: ScenarioProblem[] = [];
  const scenarios: Scenario[] = [];
  for (const f of files) {
    try {
      scenarios.push(await loadScenario(f));
    } catch (err) {
      if (!(err instanceof ScenarioError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (problems.length) throw new ScenarioError(problems);
  return scenarios;
}

/**
 * Give every scenario a media file: its own `machine.media`, or a build for its options. Builds
 * with custom options go first, the standard build last, so build/media/tsx-hv.iso ends up as
 * the standard media.
 */
export async function prepareScenarioMedia(scenarios: readonly Scenario[], log?: (line: string) => void): Promise<void> {
  const key = (s: Scenario): string => JSON.stringify([s.machine.hypervisor, s.machine.append, s.machine.kernel, s.machine.initrd]);
  const standard = key({ machine: {} } as Scenario);
  const pending = scenarios.filter((s) => !s.machine.media && s.machine.boot !== 'disk' && !s.machine.target).sort((a, b) => Number(key(a) === standard) - Number(key(b) === standard));
  const built = new Map<string, string>();
  for (const s of pending) {
    const k = key(s);
    if (!built.has(k)) built.set(k, await prepareMedia({ ...s.machine, log }));
    s.machine.media = built.get(k);
  }
}
