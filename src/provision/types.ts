/**
 * Shared vocabulary of `tsx-hv provision`: the state of one path on a target, the operations a
 * plan is made of, and the report entries every action produces.
 */

/** What one path looks like on the target (lstat semantics: a symlink is not followed). */
export type FileState =
  | { type: 'absent' }
  | { type: 'file'; mode: number; uid: number; gid: number; content: Buffer }
  | { type: 'link'; target: string; uid: number; gid: number }
  | { type: 'dir'; mode: number; uid: number; gid: number };

export type ActionName = 'cmdline' | 'ntp' | 'agent' | 'hypervisor';

/** A command run on the target and the paths it may change (backed up before it runs). */
export interface CommandOperation {
  op: 'command';
  action: ActionName;
  why: string;
  /** Argument vector as run inside the target (chroot for dir/image targets, remote for ssh). */
  argv: string[];
  /** `systemctl` runs as the target's offline systemctl (`systemctl --root=DIR` on dir/image). */
  systemctl?: boolean;
  /** Files the command may write. */
  touches?: string[];
  /** Directories whose whole content the command may change (snapshotted before it runs). */
  touchesTrees?: string[];
  /**
   * A failure is reported and ignored; the text says why that is acceptable (e.g. `timedatectl`
   * on a host without a running systemd: the masking that follows still applies).
   */
  bestEffort?: string;
  /** The command stops this unit on a live host; revert starts it again. */
  stopsUnit?: string;
  /** Run instead when the command fails; the report says the fallback was used and why. */
  fallback?: { why: string; operations: Operation[] };
}

export interface WriteOperation {
  op: 'write';
  action: ActionName;
  why: string;
  path: string;
  content: Buffer;
  mode: number;
}

export type Operation = CommandOperation | WriteOperation;

export type ChangeStatus = 'changed' | 'unchanged' | 'would-change' | 'fallback' | 'failed' | 'info';

/** One line of the report: what was (or would be) done to which file or by which command. */
export interface Change {
  /** The action, or `target` for what the target itself reported (e.g. no running systemd). */
  action: ActionName | 'target' | 'revert';
  status: ChangeStatus;
  /** A path on the target, or the command line that was run. */
  subject: string;
  kind: 'file' | 'command' | 'note';
  detail: string;
  /** Unified diff of a file change (dry-run and real runs). */
  diff?: string;
}

/** The result of planning one action: operations to apply plus the checks that found nothing to do. */
export interface ActionPlan {
  operations: Operation[];
  notes: Change[];
}
