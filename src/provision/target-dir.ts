import { chmod, chown, lchown, lstat, mkdir, readdir, readFile, readlink, rename, rm, rmdir, stat, symlink, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { TsxHvError } from '../errors.js';
import { run, type RunResult } from '../util/run.js';
import { resolveInRoot } from './root-path.js';
import type { ExecOptions, Target, TargetKind } from './target.js';
import type { FileState } from './types.js';

/** The target's own programs, whatever PATH this process has. */
const TARGET_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * A Linux root directory on this machine (a mounted disk, a debootstrapped tree, or the mount
 * of an image). Files are handled directly; programs run with chroot; unit files are changed
 * with `systemctl --root=DIR`, which works without a running systemd.
 */
export class DirTarget implements Target {
  readonly live = false;

  constructor(
    readonly root: string,
    readonly spec: string = `dir:${root}`,
    readonly kind: TargetKind = 'dir',
    private readonly onClose: () => Promise<void> = async () => undefined,
  ) {}

  static async open(root: string): Promise<DirTarget> {
    const st = await stat(root).catch(() => null);
    if (!st?.isDirectory()) throw new TsxHvError('TARGET_NOT_FOUND', `${root} is not a directory`, { hint: 'dir: targets name the root directory of a Linux installation, e.g. dir:/mnt/root' });
    return new DirTarget(posix.resolve(root));
  }

  private host(path: string, followLast = false): Promise<string> {
    return resolveInRoot(this.root, path, followLast);
  }

  async state(path: string): Promise<FileState> {
    const p = await this.host(path);
    const st = await lstat(p).catch(() => null);
    if (!st) return { type: 'absent' };
    if (st.isSymbolicLink()) return { type: 'link', target: await readlink(p), uid: st.uid, gid: st.gid };
    if (st.isDirectory()) return { type: 'dir', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    if (st.isFile()) return { type: 'file', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, content: await readFile(p) };
    throw new TsxHvError('UNSUPPORTED_FILE', `${path} in ${this.root} is neither a file, a directory nor a symlink`);
  }

  async readFile(path: string): Promise<Buffer | null> {
    const p = await this.host(path, true);
    const st = await stat(p).catch(() => null);
    return st?.isFile() ? readFile(p) : null;
  }

  async setState(path: string, state: FileState): Promise<void> {
    const p = await this.host(path);
    const current = await lstat(p).catch(() => null);
    switch (state.type) {
      case 'absent':
        if (current?.isDirectory()) await rmdir(p);
        else if (current) await rm(p, { force: true });
        return;
      case 'dir':
        if (current && !current.isDirectory()) await rm(p, { force: true });
        if (!current?.isDirectory()) await mkdir(p);
        await chown(p, state.uid, state.gid);
        await chmod(p, state.mode);
        return;
      case 'link':
        if (current?.isDirectory()) await rmdir(p);
        else if (current) await rm(p, { force: true });
        await symlink(state.target, p);
        await lchown(p, state.uid, state.gid);
        return;
      case 'file': {
        const tmp = `${p}.tsx-hv-tmp`;
        await writeFile(tmp, state.content, { mode: 0o600 });
        await chown(tmp, state.uid, state.gid);
        await chmod(tmp, state.mode);
        if (current?.isDirectory()) await rmdir(p);
        await rename(tmp, p);
        return;
      }
    }
  }

  async list(dir: string): Promise<string[]> {
    const p = await this.host(dir, true);
    const entries = await readdir(p, { recursive: true }).catch(() => null);
    if (!entries) return [];
    return entries.map((e) => posix.join(dir, e)).sort();
  }

  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    return run('chroot', [this.root, ...argv], { allowFailure: opts.allowFailure, signal: opts.signal, env: { LC_ALL: 'C', PATH: TARGET_PATH } });
  }

  systemctl(args: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    return run('systemctl', [`--root=${this.root}`, ...args], { allowFailure: opts.allowFailure, signal: opts.signal, env: { LC_ALL: 'C' } });
  }

  describeCommand(argv: readonly string[], systemctl: boolean): string {
    return systemctl ? ['systemctl', `--root=${this.root}`, ...argv].join(' ') : ['chroot', this.root, ...argv].join(' ');
  }

  close(): Promise<void> {
    return this.onClose();
  }
}
