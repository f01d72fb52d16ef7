import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { statSync } from 'node:fs';
import type { AnsibleEvent } from './ansible.js';

/**
 * The rollout journal: an append-only NDJSON file of every run, step and host result of `fleet
 * rollout` and `fleet rollback` on one inventory. Appending line by line means a rollout cut off
 * at any point (Ctrl-C, a lost controller) leaves a journal that says exactly which hosts
 * finished; the next `fleet rollout` skips the hosts whose last result is done, so it resumes
 * where the last one stopped. `fleet rollback` writes its results too, so a rolled-back host is
 * rolled out again next time.
 */
export interface JournalLine extends Partial<AnsibleEvent> {
  /** The run that wrote the line (its start time, ISO 8601). */
  run: string;
  command: 'rollout' | 'rollback';
}

/** Next to the inventory: INVENTORY.tsx-hv-journal.ndjson (a directory inventory: inside it). */
export function defaultJournalPath(inventory: string): string {
  const abs = resolve(inventory);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    // a missing inventory is reported by ansible-inventory, later
  }
  return isDir ? join(abs, '.tsx-hv-journal.ndjson') : join(dirname(abs), `${basename(abs)}.tsx-hv-journal.ndjson`);
}

export async function readJournal(path: string): Promise<JournalLine[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: JournalLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as JournalLine);
    } catch {
      // a line cut off when the controller died mid-write: the lines before it still count
    }
  }
  return out;
}

/** Each host's last result line (rollout or rollback), in journal order. */
export function lastResults(lines: readonly JournalLine[]): Map<string, JournalLine> {
  const last = new Map<string, JournalLine>();
  for (const l of lines) if (l.event === 'result' && l.host) last.set(l.host, l);
  return last;
}

/** Results after which a rollout leaves the host alone. */
export const FINISHED = new Set(['done', 'already']);

export class JournalWriter {
  private chain: Promise<void> = Promise.resolve();
  constructor(
    readonly path: string,
    readonly run: string,
    readonly command: JournalLine['command'],
  ) {}

  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
  }

  /** Appends in call order; write() never throws (see flush()). */
  write(fields: Partial<AnsibleEvent>): void {
    const line = JSON.stringify({ run: this.run, command: this.command, ...fields }) + '\n';
    this.chain = this.chain.then(() => appendFile(this.path, line));
  }

  flush(): Promise<void> {
    return this.chain;
  }
}
