import { UsageError } from '../errors.js';
import type { RunResult } from '../util/run.js';
import type { FileState } from './types.js';

/**
 * Where provision works: a mounted root directory, a disk image (mounted through a loop
 * device), or a live host over ssh. Actions and the transaction see only this interface, so
 * every change, backup and revert is written once for all three.
 */
export interface Target {
  /** The spec as the user wrote it: dir:/mnt/root, image:disk.raw, ssh://root@host:22. */
  readonly spec: string;
  readonly kind: TargetKind;
  /** A running system (ssh): services can be stopped, timedatectl asked, /proc/cmdline read. */
  readonly live: boolean;
  /** lstat-like state of an absolute path inside the target, with content for regular files. */
  state(path: string): Promise<FileState>;
  /** Content of a file, following symlinks inside the target; null when it is not a regular file. */
  readFile(path: string): Promise<Buffer | null>;
  /** Make `path` look exactly like `state` (write, symlink, mkdir, or remove). */
  setState(path: string, state: FileState): Promise<void>;
  /** Every path below `dir` (not following symlinks), or [] when `dir` does not exist. */
  list(dir: string): Promise<string[]>;
  /** State of each dir and everything below it in one go (targets where each state() is a round trip). */
  trees?(dirs: readonly string[]): Promise<Map<string, FileState>>;
  /** Run a program inside the target: chroot for dir/image targets, the remote shell for ssh. */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<RunResult>;
  /** Run systemctl against the target's unit files (`systemctl --root=DIR` offline). */
  systemctl(args: readonly string[], opts?: ExecOptions): Promise<RunResult>;
  /** How exec/systemctl would run `argv`, for dry-run output and the report. */
  describeCommand(argv: readonly string[], systemctl: boolean): string;
  close(): Promise<void>;
}

export type TargetKind = 'dir' | 'image' | 'ssh';

export interface ExecOptions {
  allowFailure?: boolean;
  /** Stops the program when aborted (Ctrl-C): run() throws the InterruptedError. */
  signal?: AbortSignal;
}

export type TargetSpec =
  | { kind: 'dir'; path: string }
  | { kind: 'image'; path: string }
  | { kind: 'ssh'; user?: string; host: string; port?: number };

export function parseTargetSpec(spec: string): TargetSpec {
  if (spec.startsWith('dir:')) {
    const path = spec.slice(4);
    if (!path) throw new UsageError('dir: target without a path', 'example: dir:/mnt/root');
    return { kind: 'dir', path };
  }
  if (spec.startsWith('image:')) {
    const path = spec.slice(6);
    if (!path) throw new UsageError('image: target without a file', 'example: image:disk.qcow2');
    return { kind: 'image', path };
  }
  if (spec.startsWith('ssh://')) {
    const m = /^ssh:\/\/(?:([^@/:]+)@)?(\[[0-9a-fA-F:]+\]|[^@/:]+)(?::(\d+))?\/?$/.exec(spec);
    if (!m) throw new UsageError(`malformed ssh target "${spec}"`, 'example: ssh://root@host.example:22');
    const port = m[3] === undefined ? undefined : Number(m[3]);
    if (port !== undefined && (port < 1 || port > 65535)) throw new UsageError(`ssh port ${port} is out of range`);
    return { kind: 'ssh', user: m[1], host: m[2]!.replace(/^\[|\]$/g, ''), port };
  }
  throw new UsageError(`unknown target "${spec}"`, 'targets are dir:/path/to/root, image:disk.raw|disk.qcow2, or ssh://user@host[:port]');
}
