import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { throwIfInterrupted } from '../util/abort.js';
import { processAlive } from '../util/process.js';

/**
 * One build at a time per output directory, across processes: `tsx-hv build` writes fixed
 * paths (build/media/tsx-hv.iso, build/state.json), so two builds with different arguments
 * running at once (parallel test files, two terminals) would overwrite each other's outputs.
 *
 * The lock is a directory (mkdir is atomic) holding the owner's pid. A lock whose owner is no
 * longer alive is stale and taken over, so a killed build never blocks the next one. An aborted
 * `signal` stops the wait (and `work` gets the same signal from its caller); the lock is released
 * however `work` ends.
 */
export async function withBuildLock<T>(out: string, work: () => Promise<T>, pollMs = 200, signal?: AbortSignal): Promise<T> {
  const lock = join(out, '.build.lock');
  await mkdir(out, { recursive: true });
  for (;;) {
    throwIfInterrupted(signal); // Ctrl-C while another build holds the lock
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (await ownerIsGone(lock)) await rm(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, pollMs));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function ownerIsGone(lock: string): Promise<boolean> {
  const text = await readFile(join(lock, 'pid'), 'utf8').catch(() => undefined);
  // No pid yet: the owner is between mkdir and writeFile; give it time.
  if (text === undefined || text === '') return false;
  return !processAlive(Number(text));
}
