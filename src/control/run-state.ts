import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { TsxHvError } from '../errors.js';
import { processAlive } from '../util/process.js';

/**
 * A running `tsx-hv run` records where it listens in a well-known file, so `tsx-hv ctl` finds it
 * without --socket: $XDG_RUNTIME_DIR/tsx-hv/run.json, or <tmpdir>/tsx-hv-<uid>/run.json.
 */
export interface RunState {
  pid: number;
  startedAt: string;
  /** The control socket `tsx-hv ctl` talks to (relayed to the hypervisor port). */
  control: string;
  /** The engine the machine runs in (absent in files of older versions: qemu). */
  engine?: string;
  /** The emulator's sockets (Unix paths, or host:port for Bochs) and work directory. */
  hv: string;
  /** QEMU only. */
  qmp?: string;
  console: string;
  workdir: string;
  hypervisor: boolean;
  media: string;
}

export function runStatePath(env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0): string {
  const base = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'tsx-hv') : join(tmpdir(), `tsx-hv-${uid}`);
  return join(base, 'run.json');
}

export async function writeRunState(state: RunState, path = runStatePath()): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path + '.part', JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  await rename(path + '.part', path);
}

export class NoRunningMachineError extends TsxHvError {
  constructor(detail: string) {
    super('NO_RUNNING_MACHINE', `no running \`tsx-hv run\` found (${detail})`, { hint: 'start one with `tsx-hv run`, or pass --socket PATH' });
    this.name = 'NoRunningMachineError';
  }
}

/** The state of the running `tsx-hv run`; a stale file (its process is gone) counts as none. */
export async function readRunState(path = runStatePath()): Promise<RunState> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) throw new NoRunningMachineError(`${path} does not exist`);
  let state: RunState;
  try {
    state = JSON.parse(text) as RunState;
  } catch {
    throw new NoRunningMachineError(`${path} is not valid JSON`);
  }
  if (typeof state.pid !== 'number' || typeof state.control !== 'string') throw new NoRunningMachineError(`${path} is incomplete`);
  if (!processAlive(state.pid)) throw new NoRunningMachineError(`process ${state.pid} recorded in ${path} is gone`);
  return state;
}

/** Removes the file if it still describes process `pid`. */
export async function clearRunState(pid: number, path = runStatePath()): Promise<void> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return;
  try {
    if ((JSON.parse(text) as RunState).pid !== pid) return;
  } catch {
    // unreadable: ours to remove
  }
  await rm(path, { force: true });
}
