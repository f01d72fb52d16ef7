import { InterruptedError, TsxHvError, UsageError } from '../errors.js';
import { interruption } from '../util/abort.js';
import { planAgent, type AgentSources } from './action-agent.js';
import { detectBootLoader, planCmdline, type BootLoader } from './action-cmdline.js';
import { planNtp } from './action-ntp.js';
import { planHypervisor, type HypervisorSources } from './action-hypervisor.js';
import { unifiedDiff } from './diff.js';
import { kernelArgs } from './kernel-args.js';
import { MANIFEST_PATH, readManifest } from './manifest.js';
import { detectDistribution, type Distribution } from './os-release.js';
import { parseTargetSpec, type Target } from './target.js';
import { DirTarget } from './target-dir.js';
import { openImage } from './target-image.js';
import { SshTarget, type SshOptions } from './target-ssh.js';
import { Transaction, removeStateDir, revertManifest } from './transaction.js';
import type { ActionPlan, Change, Operation } from './types.js';
import { rebootAndWait, verifyLive, type Verification } from './verify.js';

/**
 * `tsx-hv provision` as a library: prepare an installed Linux (directory, disk image or live
 * host) for time acceleration, reversibly. See docs/provision.md.
 */
export interface ProvisionOptions {
  /** dir:/path, image:disk.raw|disk.qcow2, ssh://user@host[:port] */
  target: string;
  /** Switch Linux's watchdogs off for speeds far from 1x (EXTREME_SPEED_KERNEL_ARGS). */
  extremeSpeeds?: boolean;
  /** Extra kernel arguments besides tsc=reliable. */
  append?: string[];
  /** Install and enable the guest agent. */
  agent?: boolean | AgentSources;
  /**
   * A boot entry on the target's disk that starts the tsx-hv hypervisor with the installed kernel
   * (Debian-family GRUB): `true`, or the image, extra hypervisor arguments, `trial` (next boot
   * only) and `makeDefault`.
   */
  hypervisor?: boolean | HypervisorSources;
  /** Print what would change; change nothing. */
  dryRun?: boolean;
  /** ssh targets: key file and extra -o options. */
  ssh?: Pick<SshOptions, 'identity' | 'options'>;
  /** Live targets: reboot after provisioning (waits for the host to come back). */
  reboot?: boolean;
  /** Live targets: read /proc/cmdline and the clocksource (after the reboot, if any). */
  verify?: boolean;
  rebootTimeoutMs?: number;
  /**
   * Aborted (Ctrl-C, SIGTERM): provision stops before its next operation (killing a command it is
   * running), rolls back everything this run changed, closes the target (unmounts an image) and
   * throws an InterruptedError (exit 130).
   */
  signal?: AbortSignal;
  /** Called after each operation is applied and recorded (tests use it to stop half-way). */
  afterOperation?: (applied: number) => Promise<void>;
}

export interface ProvisionReport {
  target: string;
  kind: Target['kind'];
  distribution: Pick<Distribution, 'id' | 'name' | 'family' | 'versionId'>;
  bootLoader: BootLoader;
  kernelArgs: string[];
  dryRun: boolean;
  /** Whether anything on the target changed (or, with dryRun, would change). */
  changed: boolean;
  changes: Change[];
  /** Where the backup record lives on the target (absent on a dry run or when nothing changed). */
  manifest?: string;
  verification?: Verification;
}

export async function openTarget(spec: string, ssh: ProvisionOptions['ssh'] = {}): Promise<Target> {
  const parsed = parseTargetSpec(spec);
  switch (parsed.kind) {
    case 'dir':
      return DirTarget.open(parsed.path);
    case 'image':
      return openImage(parsed.path);
    case 'ssh':
      return SshTarget.open(spec, { user: parsed.user, host: parsed.host, port: parsed.port, ...ssh });
  }
}

export async function provision(opts: ProvisionOptions): Promise<ProvisionReport> {
  const args = kernelArgs(opts.append, { extremeSpeeds: opts.extremeSpeeds });
  if ((opts.reboot || opts.verify) && !opts.target.startsWith('ssh://')) throw new UsageError('--reboot and --verify need a live target (ssh://...)');
  if (opts.reboot && opts.dryRun) throw new UsageError('--reboot cannot be combined with --dry-run');
  let target = await openTarget(opts.target, opts.ssh);
  try {
    const osRelease = (await target.readFile('/etc/os-release')) ?? (await target.readFile('/usr/lib/os-release'));
    const dist = detectDistribution(osRelease?.toString('utf8') ?? null);
    const bootLoader = await detectBootLoader(target, dist);
    const plans: ActionPlan[] = [await planCmdline(target, bootLoader, args), await planNtp(target)];
    if (opts.agent) plans.push(await planAgent(target, typeof opts.agent === 'object' ? opts.agent : {}));
    if (opts.hypervisor) plans.push(await planHypervisor(target, bootLoader, typeof opts.hypervisor === 'object' ? opts.hypervisor : {}));
    const report: ProvisionReport = {
      target: target.spec,
      kind: target.kind,
      distribution: { id: dist.id, name: dist.name, family: dist.family, versionId: dist.versionId },
      bootLoader,
      kernelArgs: args,
      dryRun: Boolean(opts.dryRun),
      changed: false,
      changes: [],
    };
    const operations = plans.flatMap((p) => p.operations);
    const notes = plans.flatMap((p) => p.notes);
    if (opts.signal?.aborted) throw interrupted(interruption(opts.signal), `nothing on ${target.spec} was changed`);
    if (opts.dryRun) {
      report.changes = [...notes, ...(await describe(target, operations))];
      report.changed = report.changes.some((c) => c.status === 'would-change');
    } else {
      const tx = await Transaction.begin(target, { signal: opts.signal, afterOperation: opts.afterOperation });
      try {
        await tx.apply(operations);
      } catch (err) {
        await tx.rollback();
        if (err instanceof InterruptedError) throw interrupted(err, `provisioning ${target.spec} was rolled back: the target is as it was before this run`);
        const message = err instanceof Error ? err.message : String(err);
        throw new TsxHvError('PROVISION_FAILED', `provisioning ${target.spec} failed and was rolled back: ${message}`, { cause: err, hint: 'the target is as it was before this run; fix the cause and run provision again' });
      }
      report.changes = [...notes, ...tx.changes];
      report.changed = tx.changed;
      if ((await readManifest(target)) !== null) report.manifest = MANIFEST_PATH;
    }
    if (target instanceof SshTarget) report.changes.push(...target.notes.map((n): Change => ({ action: 'target', status: 'info', kind: 'note', subject: target.spec, detail: n })));
    if (opts.reboot) target = await rebootAndWait(target, () => openTarget(opts.target, opts.ssh), opts.rebootTimeoutMs);
    if (opts.verify) report.verification = await verifyLive(target, args);
    return report;
  } finally {
    await target.close();
  }
}

function interrupted(cause: Error, state: string): InterruptedError {
  return new InterruptedError(`${cause.message}; ${state}`, 'run provision again to apply it');
}

/** What a dry run shows: the diff of each file it would write, each command it would run. */
async function describe(target: Target, operations: readonly Operation[], prefix = ''): Promise<Change[]> {
  const out: Change[] = [];
  for (const op of operations) {
    if (op.op === 'write') {
      const current = await target.state(op.path);
      const before = current.type === 'file' ? current.content : null;
      if (before?.equals(op.content) && current.type === 'file' && current.mode === op.mode) {
        out.push({ action: op.action, status: 'unchanged', kind: 'file', subject: op.path, detail: op.why });
        continue;
      }
      out.push({ action: op.action, status: 'would-change', kind: 'file', subject: op.path, detail: prefix + op.why, diff: await unifiedDiff(op.path, before, op.content) });
      continue;
    }
    out.push({ action: op.action, status: 'would-change', kind: 'command', subject: target.describeCommand(op.argv, Boolean(op.systemctl)), detail: prefix + op.why + (op.bestEffort ? ` (if it fails: ${op.bestEffort})` : '') });
    if (op.fallback) out.push(...(await describe(target, op.fallback.operations, `if ${op.argv[0]} fails: `)));
  }
  return out;
}

export interface RevertReport {
  target: string;
  changed: boolean;
  changes: Change[];
}

/** Put the target back exactly as it was before provision first ran, and remove the backups. */
export async function revertProvision(spec: string, ssh: ProvisionOptions['ssh'] = {}): Promise<RevertReport> {
  const target = await openTarget(spec, ssh);
  try {
    const manifest = await readManifest(target);
    if (!manifest) throw new TsxHvError('NOTHING_TO_REVERT', `${target.spec} has no ${MANIFEST_PATH}: provision has not changed it (or it was already reverted)`);
    const changes = await revertManifest(target, manifest);
    if (target.live) {
      const reload = await target.systemctl(['daemon-reload'], { allowFailure: true });
      if (reload.exitCode !== 0) changes.push({ action: 'revert', status: 'info', kind: 'command', subject: 'systemctl daemon-reload', detail: 'no running systemd to reload' });
      for (const unit of manifest.stoppedUnits) {
        const r = await target.systemctl(['start', unit], { allowFailure: true });
        changes.push({ action: 'revert', status: r.exitCode === 0 ? 'changed' : 'failed', kind: 'command', subject: `systemctl start ${unit}`, detail: r.exitCode === 0 ? 'was running before provision' : r.stderr.trim() });
      }
    }
    await removeStateDir(target, manifest);
    changes.push({ action: 'revert', status: 'changed', kind: 'file', subject: MANIFEST_PATH, detail: 'backups and manifest removed' });
    return { target: target.spec, changed: true, changes };
  } finally {
    await target.close();
  }
}
