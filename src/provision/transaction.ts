import { posix } from 'node:path';
import { TsxHvError } from '../errors.js';
import { throwIfInterrupted } from '../util/abort.js';
import { unifiedDiff } from './diff.js';
import { BACKUP_DIR, MANIFEST_PATH, STATE_DIR, blobPath, newManifest, readManifest, restoredState, toStored, type Manifest } from './manifest.js';
import { sameState, snapshotTrees } from './snapshot.js';
import type { Target } from './target.js';
import type { Change, CommandOperation, FileState, Operation, WriteOperation } from './types.js';

/**
 * Applies a plan to a target with a backup of everything it changes.
 * - Before a path changes, its current state is recorded twice: in this run's rollback list and,
 *   unless an earlier run already recorded it, in the manifest on the target (saved after each
 *   change, so even a crash leaves a usable record).
 * - A failure rolls this run back: every path returns to its state at the start of the run, and
 *   the manifest to what it was.
 */
export interface TransactionOptions {
  /** Aborted (Ctrl-C): stop before the next operation, killing a running command; apply() throws the reason. */
  signal?: AbortSignal;
  /** Called after each operation is applied and recorded, with the number applied so far. */
  afterOperation?: (applied: number) => Promise<void>;
}

export class Transaction {
  readonly changes: Change[] = [];
  private readonly runBefore = new Map<string, FileState>();
  private readonly stoppedThisRun: string[] = [];
  private stateDirReady = false;
  private applied = 0;

  private constructor(
    private readonly target: Target,
    private manifest: Manifest,
    private readonly priorManifest: Buffer | null,
    private readonly opts: TransactionOptions,
  ) {}

  static async begin(target: Target, opts: TransactionOptions = {}): Promise<Transaction> {
    const prior = await target.readFile(MANIFEST_PATH);
    const manifest = (await readManifest(target)) ?? newManifest(target.spec);
    return new Transaction(target, manifest, prior, opts);
  }

  async apply(operations: readonly Operation[]): Promise<void> {
    for (const op of operations) {
      throwIfInterrupted(this.opts.signal);
      if (op.op === 'write') await this.write(op);
      else await this.command(op);
      await this.opts.afterOperation?.(++this.applied);
    }
  }

  private async write(op: WriteOperation): Promise<void> {
    const current = await this.target.state(op.path);
    const uid = current.type === 'file' ? current.uid : 0;
    const gid = current.type === 'file' ? current.gid : 0;
    const next: FileState = { type: 'file', mode: op.mode, uid, gid, content: op.content };
    if (sameState(current, next)) {
      this.changes.push({ action: op.action, status: 'unchanged', kind: 'file', subject: op.path, detail: op.why });
      return;
    }
    await this.makeParents(op.path);
    await this.record(op.path, current);
    await this.target.setState(op.path, next);
    const diff = await unifiedDiff(op.path, current.type === 'file' ? current.content : null, op.content);
    this.changes.push({ action: op.action, status: 'changed', kind: 'file', subject: op.path, detail: op.why, diff });
  }

  /** Create missing parent directories (root-owned, 0755), each recorded as previously absent. */
  private async makeParents(path: string): Promise<void> {
    const missing: string[] = [];
    for (let dir = posix.dirname(path); dir !== '/'; dir = posix.dirname(dir)) {
      if ((await this.target.state(dir)).type !== 'absent') break;
      missing.unshift(dir);
    }
    for (const dir of missing) {
      await this.record(dir, { type: 'absent' });
      await this.target.setState(dir, { type: 'dir', mode: 0o755, uid: 0, gid: 0 });
    }
  }

  private async command(op: CommandOperation): Promise<void> {
    const before = new Map<string, FileState>();
    for (const path of op.touches ?? []) before.set(path, await this.target.state(path));
    for (const [p, s] of await snapshotTrees(this.target, op.touchesTrees ?? [])) before.set(p, s);
    const shown = this.target.describeCommand(op.argv, Boolean(op.systemctl));
    const opts = { allowFailure: true, signal: this.opts.signal };
    let result;
    try {
      result = op.systemctl ? await this.target.systemctl(op.argv, opts) : await this.target.exec(op.argv, opts);
    } catch (err) {
      // Stopped half-way (Ctrl-C): what it touched goes back before the rest is rolled back.
      await this.restore(before);
      throw err;
    }
    if (result.exitCode === 0) {
      const differences = await this.recordDifferences(before, op);
      if (op.stopsUnit) await this.noteStopped(op.stopsUnit);
      const changed = differences > 0 || op.stopsUnit !== undefined;
      this.changes.push({ action: op.action, status: changed ? 'changed' : 'unchanged', kind: 'command', subject: shown, detail: changed ? op.why : `${op.why} (ran; nothing changed)` });
      return;
    }
    const why = (result.stderr || result.stdout).trim().split('\n').slice(-2).join(' ') || `exit ${result.exitCode}`;
    if (op.fallback) {
      await this.restore(before);
      this.changes.push({ action: op.action, status: 'fallback', kind: 'command', subject: shown, detail: `failed (${why}); ${op.fallback.why}` });
      await this.apply(op.fallback.operations);
      return;
    }
    if (op.bestEffort) {
      await this.recordDifferences(before, op);
      this.changes.push({ action: op.action, status: 'failed', kind: 'command', subject: shown, detail: `${op.why}: failed (${why}); ${op.bestEffort}` });
      return;
    }
    await this.recordDifferences(before, op);
    throw new TsxHvError('PROVISION_STEP_FAILED', `${shown} failed (exit ${result.exitCode}): ${why}`);
  }

  /** Record every path a command changed, with the state it had before the command. */
  private async recordDifferences(before: Map<string, FileState>, op: CommandOperation): Promise<number> {
    const after = new Map<string, FileState>();
    for (const path of op.touches ?? []) after.set(path, await this.target.state(path));
    for (const [p, s] of await snapshotTrees(this.target, op.touchesTrees ?? [])) after.set(p, s);
    const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
    let differences = 0;
    for (const path of paths) {
      const was = before.get(path) ?? { type: 'absent' as const };
      const now = after.get(path) ?? { type: 'absent' as const };
      if (sameState(was, now)) continue;
      differences++;
      await this.record(path, was, false);
    }
    if (differences > 0) await this.saveManifest();
    return differences;
  }

  /** Put paths back to a snapshot (a failed command may have changed some before failing). */
  private async restore(before: Map<string, FileState>): Promise<void> {
    for (const [path, state] of [...before].reverse()) {
      if (!sameState(await this.target.state(path), state)) await this.target.setState(path, state);
    }
  }

  private async noteStopped(unit: string): Promise<void> {
    if (!this.manifest.stoppedUnits.includes(unit)) this.manifest.stoppedUnits.push(unit);
    this.stoppedThisRun.push(unit);
    await this.saveManifest();
  }

  private async record(path: string, before: FileState, save = true): Promise<void> {
    if (path === STATE_DIR || path.startsWith(STATE_DIR + '/')) return;
    if (!this.runBefore.has(path)) this.runBefore.set(path, before);
    if (this.manifest.entries.some((e) => e.path === path)) return;
    await this.ensureStateDir();
    const stored = toStored(before);
    if (before.type === 'file' && stored.type === 'file') {
      const blob = blobPath(stored.sha256);
      if ((await this.target.state(blob)).type === 'absent') await this.target.setState(blob, { type: 'file', mode: 0o600, uid: 0, gid: 0, content: before.content });
    }
    this.manifest.entries.push({ path, before: stored });
    if (save) await this.saveManifest();
  }

  private async ensureStateDir(): Promise<void> {
    if (this.stateDirReady) return;
    this.stateDirReady = true;
    for (const dir of ['/var', '/var/lib', '/var/lib/tsx-hv', STATE_DIR, BACKUP_DIR]) {
      if ((await this.target.state(dir)).type !== 'absent') continue;
      await this.target.setState(dir, { type: 'dir', mode: dir === BACKUP_DIR ? 0o700 : 0o755, uid: 0, gid: 0 });
      this.manifest.stateDirs.push(dir);
    }
  }

  private async saveManifest(): Promise<void> {
    this.manifest.updated = new Date().toISOString();
    await this.target.setState(MANIFEST_PATH, { type: 'file', mode: 0o600, uid: 0, gid: 0, content: Buffer.from(JSON.stringify(this.manifest, null, 2) + '\n') });
  }

  /** Whether this run changed anything on the target. */
  get changed(): boolean {
    return this.runBefore.size > 0 || this.stoppedThisRun.length > 0;
  }

  /** Undo this run: every path back to its state at the start of the run, the manifest too. */
  async rollback(): Promise<void> {
    for (const [path, state] of [...this.runBefore].reverse()) await this.target.setState(path, state);
    if (this.target.live) for (const unit of this.stoppedThisRun) await this.target.systemctl(['start', unit], { allowFailure: true });
    if (this.priorManifest) {
      const prior = JSON.parse(this.priorManifest.toString('utf8')) as Manifest;
      const keep = new Set(prior.entries.flatMap((e) => (e.before.type === 'file' ? [blobPath(e.before.sha256)] : [])));
      for (const blob of await this.target.list(BACKUP_DIR)) if (!keep.has(blob)) await this.target.setState(blob, { type: 'absent' });
      await this.target.setState(MANIFEST_PATH, { type: 'file', mode: 0o600, uid: 0, gid: 0, content: this.priorManifest });
      return;
    }
    await removeStateDir(this.target, this.manifest);
  }
}

/** Remove the manifest, the backups and the directories provision created for them. */
export async function removeStateDir(target: Target, manifest: Manifest): Promise<void> {
  for (const blob of await target.list(BACKUP_DIR)) await target.setState(blob, { type: 'absent' });
  await target.setState(MANIFEST_PATH, { type: 'absent' });
  for (const dir of [...manifest.stateDirs].reverse()) await target.setState(dir, { type: 'absent' });
}

/** Restore every path the manifest records, newest change first. */
export async function revertManifest(target: Target, manifest: Manifest): Promise<Change[]> {
  const changes: Change[] = [];
  for (const entry of [...manifest.entries].reverse()) {
    const want = await restoredState(target, entry.before);
    const current = await target.state(entry.path);
    if (sameState(current, want)) {
      changes.push({ action: 'revert', status: 'unchanged', kind: 'file', subject: entry.path, detail: 'already as before provision' });
      continue;
    }
    await target.setState(entry.path, want);
    changes.push({ action: 'revert', status: 'changed', kind: 'file', subject: entry.path, detail: want.type === 'absent' ? 'removed (did not exist before provision)' : `restored ${want.type}` });
  }
  return changes;
}
