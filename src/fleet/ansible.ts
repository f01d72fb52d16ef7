import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { packageRoot } from '../builder/layout.js';
import { locateTool } from '../doctor/locate.js';
import { interruption } from '../util/abort.js';
import { track, untrack } from '../engines/reaper.js';

/**
 * Runs the package's playbooks (ansible/*.yml) with ansible-playbook and turns the events of its
 * tsx_hv_events callback (ansible/callback_plugins) into objects: the callback writes one JSON
 * line per tsx-hv step to file descriptor 3, which this process reads as a pipe. Ansible's own
 * output (the default callback) goes to a log file, and to the terminal with --verbose.
 */
export const ANSIBLE_DIR = join(packageRoot(), 'ansible');

export type Playbook = 'plan' | 'rollout' | 'status' | 'rollback';

/** One line of the callback (ansible/callback_plugins/tsx_hv_events.py documents the fields). */
export interface AnsibleEvent {
  event: 'play' | 'step' | 'result' | 'stats';
  time: number;
  host?: string;
  wave?: number | null;
  name?: string;
  step?: string;
  status?: 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';
  duration_s?: number | null;
  msg?: string;
  data?: Record<string, unknown>;
  result?: string;
  reason?: string;
  hosts?: Record<string, Record<string, number>>;
  [field: string]: unknown;
}

export interface PlaybookRun {
  playbook: Playbook;
  inventory: string;
  /** An Ansible host pattern (--limit); undefined: every host. */
  limit?: string;
  /** -e JSON: the role's variables (tsx_hv_cli, tsx_hv_waves, ...). */
  extraVars: Record<string, unknown>;
  /** More -e values as the user wrote them (KEY=VALUE, JSON, @file). */
  userExtraVars?: readonly string[];
  forks?: number;
  /** Ansible's own output. */
  log: string;
  /** Also copy Ansible's output here (--verbose). */
  echo?: NodeJS.WritableStream;
  onEvent: (e: AnsibleEvent) => void;
  signal?: AbortSignal;
}

export interface PlaybookExit {
  exitCode: number;
  /** The last lines of Ansible's output (for errors that came before any event). */
  tail: string;
}

export async function runPlaybook(r: PlaybookRun): Promise<PlaybookExit> {
  const program = await locateTool('ansible-playbook');
  await mkdir(dirname(r.log), { recursive: true });
  const log = createWriteStream(r.log, { flags: 'a' });
  const args = ['-i', r.inventory, join(ANSIBLE_DIR, `${r.playbook}.yml`), '-e', JSON.stringify(r.extraVars)];
  for (const e of r.userExtraVars ?? []) args.push('-e', e);
  if (r.limit) args.push('--limit', r.limit);
  if (r.forks) args.push('--forks', String(r.forks));
  log.write(`\n# ${new Date().toISOString()} ${program} ${args.join(' ')}\n`);
  const child = execa(program, args, {
    reject: false,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: {
      ANSIBLE_CALLBACKS_ENABLED: 'tsx_hv_events',
      ANSIBLE_CALLBACK_PLUGINS: join(ANSIBLE_DIR, 'callback_plugins'),
      ANSIBLE_ROLES_PATH: join(ANSIBLE_DIR, 'roles'),
      TSX_HV_FLEET_EVENTS: 'fd:3',
      ANSIBLE_RETRY_FILES_ENABLED: 'false',
      ANSIBLE_NOCOLOR: '1',
      // Python would buffer Ansible's output into a pipe; the log should follow the run.
      PYTHONUNBUFFERED: '1',
    },
    ...(r.signal ? { cancelSignal: r.signal, forceKillAfterDelay: 20_000 } : {}),
  });
  track(child);
  let tail = '';
  const keep = (d: Buffer): void => {
    log.write(d);
    r.echo?.write(d);
    tail = (tail + d.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const events = createInterface({ input: child.stdio[3] as Readable });
  const done = new Promise<void>((res) => events.once('close', res));
  events.on('line', (line) => {
    if (!line.trim()) return;
    try {
      r.onEvent(JSON.parse(line) as AnsibleEvent);
    } catch {
      log.write(`# tsx-hv: an event line that is not JSON: ${line}\n`);
    }
  });
  const result = await child;
  await done;
  untrack(child);
  await new Promise<void>((res) => log.end(res));
  if (result.isCanceled && r.signal) throw interruption(r.signal, 'ansible-playbook was stopped: interrupted');
  return { exitCode: result.exitCode ?? 1, tail };
}
