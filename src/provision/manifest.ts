import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { TsxHvError } from '../errors.js';
import type { Target } from './target.js';
import type { FileState } from './types.js';

/**
 * The backup record kept on the target itself, so `--revert` works from any machine and after
 * any number of provision runs:
 *   /var/lib/tsx-hv/provision/manifest.json   what every changed path looked like BEFORE the
 *                                             first run that touched it, in order of change
 *   /var/lib/tsx-hv/provision/backup/<sha256>  the prior content of every changed regular file
 * Entries are only ever added (the oldest state wins), so revert returns to the state before
 * provision was first run, byte for byte, including removing files that did not exist.
 */
export const STATE_DIR = '/var/lib/tsx-hv/provision';
export const MANIFEST_PATH = `${STATE_DIR}/manifest.json`;
export const BACKUP_DIR = `${STATE_DIR}/backup`;

export type StoredState =
  | { type: 'absent' }
  | { type: 'file'; mode: number; uid: number; gid: number; sha256: string }
  | { type: 'link'; target: string; uid: number; gid: number }
  | { type: 'dir'; mode: number; uid: number; gid: number };

export interface ManifestEntry {
  path: string;
  before: StoredState;
}

export interface Manifest {
  version: 1;
  tool: 'tsx-hv provision';
  target: string;
  created: string;
  updated: string;
  entries: ManifestEntry[];
  /** Directories provision created to hold this manifest and the backups; revert removes them. */
  stateDirs: string[];
  /** Units that were running on a live host before provision stopped them (restarted on revert). */
  stoppedUnits: string[];
}

export function newManifest(target: string, now = new Date()): Manifest {
  return { version: 1, tool: 'tsx-hv provision', target, created: now.toISOString(), updated: now.toISOString(), entries: [], stateDirs: [], stoppedUnits: [] };
}

export function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

export function blobPath(hash: string): string {
  return posix.join(BACKUP_DIR, hash);
}

export function toStored(state: FileState): StoredState {
  if (state.type !== 'file') return state;
  return { type: 'file', mode: state.mode, uid: state.uid, gid: state.gid, sha256: sha256(state.content) };
}

export function parseManifest(text: string, where: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (err) {
    throw new TsxHvError('BAD_MANIFEST', `${where} is not valid JSON`, { cause: err, hint: 'the provision backup record is damaged; restore the files listed in it by hand' });
  }
  if (m?.version !== 1 || m.tool !== 'tsx-hv provision' || !Array.isArray(m.entries)) throw new TsxHvError('BAD_MANIFEST', `${where} is not a tsx-hv provision manifest (version 1)`);
  return m;
}

export async function readManifest(target: Target): Promise<Manifest | null> {
  const text = await target.readFile(MANIFEST_PATH);
  return text === null ? null : parseManifest(text.toString('utf8'), `${target.spec}:${MANIFEST_PATH}`);
}

/** The FileState an entry restores, with the file content read back from its backup blob. */
export async function restoredState(target: Target, stored: StoredState): Promise<FileState> {
  if (stored.type !== 'file') return stored;
  const content = await target.readFile(blobPath(stored.sha256));
  if (content === null || sha256(content) !== stored.sha256) {
    throw new TsxHvError('BACKUP_MISSING', `backup ${blobPath(stored.sha256)} on ${target.spec} is missing or damaged`, { hint: 'the file it backs up cannot be restored automatically' });
  }
  return { type: 'file', mode: stored.mode, uid: stored.uid, gid: stored.gid, content };
}
