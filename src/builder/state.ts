import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * build/state.json remembers, per build step, the hash of the inputs its outputs were made
 * from. A step whose input hash is unchanged and whose outputs all exist is skipped, so a second
 * `tsx-hv build` with nothing changed does no work.
 */
export interface BuildState {
  version: 1;
  steps: Record<string, { inputs: string; builtAt: string }>;
}

export function emptyState(): BuildState {
  return { version: 1, steps: {} };
}

/** Parses a state file; anything unreadable or of another version counts as "nothing built". */
export function parseState(text: string): BuildState {
  try {
    const v = JSON.parse(text) as Partial<BuildState>;
    if (v && v.version === 1 && typeof v.steps === 'object' && v.steps !== null) return { version: 1, steps: v.steps };
  } catch {
    // a truncated or hand-edited file: rebuild everything
  }
  return emptyState();
}

export async function loadState(path: string): Promise<BuildState> {
  return parseState(await readFile(path, 'utf8').catch(() => ''));
}

export async function saveState(path: string, state: BuildState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path + '.part', JSON.stringify(state, null, 2) + '\n');
  await rename(path + '.part', path);
}

async function allExist(paths: readonly string[]): Promise<boolean> {
  for (const p of paths) {
    if (!(await access(p).then(() => true, () => false))) return false;
  }
  return true;
}

/** True when `step` was last built from exactly `inputs` and its outputs are still there. */
export async function upToDate(state: BuildState, step: string, inputs: string, outputs: readonly string[]): Promise<boolean> {
  return state.steps[step]?.inputs === inputs && (await allExist(outputs));
}

export function record(state: BuildState, step: string, inputs: string, now: Date = new Date()): void {
  state.steps[step] = { inputs, builtAt: now.toISOString() };
}
