import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolFailedError, TsxHvError } from '../errors.js';
import { run, type RunResult } from '../util/run.js';
import { shellJoin } from './shell-quote.js';
import type { ExecOptions, Target } from './target.js';
import type { FileState } from './types.js';

export interface SshOptions {
  user?: string;
  host: string;
  port?: number;
  /** Private key file (ssh -i); otherwise the user's keys and agent. */
  identity?: string;
  /** Extra `-o Key=Value` options (e.g. StrictHostKeyChecking=no for a lab host). */
  options?: string[];
}

/**
 * A live host reached with the system ssh client (BatchMode: keys or agent, never a password
 * prompt). One multiplexed master connection carries every operation; file operations are small
 * POSIX sh programs with their paths passed as positional parameters, so no path is ever parsed
 * by the remote shell. A non-root user runs everything through `sudo -n`.
 */
export class SshTarget implements Target {
  readonly kind = 'ssh' as const;
  readonly live = true;
  /** Things the target said about itself while working (shown in the report). */
  readonly notes: string[] = [];
  private offlineSystemctl = false;

  private constructor(
    readonly spec: string,
    private readonly opts: SshOptions,
    private readonly controlDir: string,
  ) {}

  static async open(spec: string, opts: SshOptions): Promise<SshTarget> {
    const controlDir = await mkdtemp(join(tmpdir(), 'tsx-hv-ssh-'));
    const target = new SshTarget(spec, opts, controlDir);
    const probe = await target.ssh(['true'], { allowFailure: true });
    if (probe.exitCode !== 0) {
      await target.close();
      throw new TsxHvError('SSH_FAILED', `cannot run commands on ${spec} over ssh (exit ${probe.exitCode}): ${probe.stderr.trim().split('\n').slice(-3).join(' ')}`, {
        hint: 'provision uses BatchMode: the host must accept your key or agent, and a non-root user needs passwordless sudo',
      });
    }
    return target;
  }

  private sshArgs(): string[] {
    const o = this.opts;
    const args = ['-o', 'BatchMode=yes', '-o', 'ControlMaster=auto', '-o', `ControlPath=${join(this.controlDir, 'master')}`, '-o', 'ControlPersist=yes', '-o', 'ConnectTimeout=15'];
    if (o.port) args.push('-p', String(o.port));
    if (o.identity) args.push('-i', o.identity);
    for (const opt of o.options ?? []) args.push('-o', opt);
    args.push(o.user ? `${o.user}@${o.host}` : o.host);
    return args;
  }

  private get sudo(): string[] {
    return this.opts.user && this.opts.user !== 'root' ? ['sudo', '-n'] : [];
  }

  private ssh(argv: readonly string[], opts: ExecOptions & { input?: string } = {}): Promise<RunResult> {
    const stdin = opts.input === undefined ? {} : { input: opts.input, stdin: 'pipe' as const };
    return run('ssh', [...this.sshArgs(), '--', shellJoin([...this.sudo, ...argv])], { allowFailure: opts.allowFailure, signal: opts.signal, env: { LC_ALL: 'C' }, ...stdin });
  }

  /** A small sh program with positional parameters. */
  private sh(script: string, params: readonly string[], opts: { allowFailure?: boolean; input?: string } = {}): Promise<RunResult> {
    return this.ssh(['sh', '-c', script, 'sh', ...params], opts);
  }

  async state(path: string): Promise<FileState> {
    const r = await this.sh(
      'if [ -L "$1" ]; then echo L; stat -c "%u %g" "$1"; readlink "$1"; ' +
        'elif [ -d "$1" ]; then echo D; stat -c "%a %u %g" "$1"; ' +
        'elif [ -f "$1" ]; then echo F; stat -c "%a %u %g" "$1"; base64 -w0 "$1"; echo; ' +
        'elif [ -e "$1" ]; then echo O; else echo A; fi',
      [path],
    );
    const [kind, ids = '', rest = ''] = r.stdout.split('\n');
    const n = ids.split(' ');
    switch (kind) {
      case 'A':
        return { type: 'absent' };
      case 'L':
        return { type: 'link', uid: Number(n[0]), gid: Number(n[1]), target: rest };
      case 'D':
        return { type: 'dir', mode: parseInt(n[0]!, 8), uid: Number(n[1]), gid: Number(n[2]) };
      case 'F':
        return { type: 'file', mode: parseInt(n[0]!, 8), uid: Number(n[1]), gid: Number(n[2]), content: Buffer.from(rest, 'base64') };
      default:
        throw new TsxHvError('UNSUPPORTED_FILE', `${path} on ${this.spec} is neither a file, a directory nor a symlink`);
    }
  }

  async readFile(path: string): Promise<Buffer | null> {
    const r = await this.sh('[ -f "$1" ] || exit 3; base64 -w0 "$1"', [path], { allowFailure: true });
    if (r.exitCode === 3) return null;
    if (r.exitCode !== 0) throw new TsxHvError('SSH_FAILED', `reading ${path} on ${this.spec} failed: ${r.stderr.trim()}`);
    return Buffer.from(r.stdout.trim(), 'base64');
  }

  async setState(path: string, state: FileState): Promise<void> {
    const removeAny = 'if [ -d "$1" ] && [ ! -L "$1" ]; then rmdir "$1"; else rm -f "$1"; fi';
    switch (state.type) {
      case 'absent':
        await this.sh(removeAny, [path]);
        return;
      case 'dir':
        await this.sh('if [ ! -d "$1" ] || [ -L "$1" ]; then rm -f "$1"; mkdir "$1"; fi; chown "$3:$4" "$1"; chmod "$2" "$1"', [path, state.mode.toString(8), String(state.uid), String(state.gid)]);
        return;
      case 'link':
        await this.sh(`${removeAny}; ln -s "$2" "$1"; chown -h "$3:$4" "$1"`, [path, state.target, String(state.uid), String(state.gid)]);
        return;
      case 'file':
        await this.sh(
          'umask 077; t="$1.tsx-hv-tmp"; base64 -d > "$t" && chown "$3:$4" "$t" && chmod "$2" "$t" && { if [ -d "$1" ] && [ ! -L "$1" ]; then rmdir "$1"; fi; mv -f "$t" "$1"; }',
          [path, state.mode.toString(8), String(state.uid), String(state.gid)],
          { input: state.content.toString('base64') },
        );
        return;
    }
  }

  async list(dir: string): Promise<string[]> {
    const r = await this.sh('[ -d "$1" ] || exit 0; cd "$1" && find . -mindepth 1 -print0', [dir]);
    return r.stdout
      .split('\0')
      .filter(Boolean)
      .map((p) => (dir.endsWith('/') ? dir : dir + '/') + p.replace(/^\.\//, ''))
      .sort();
  }

  /** One round trip for all dirs: find prints NUL-separated records, file contents as base64. */
  async trees(dirs: readonly string[]): Promise<Map<string, FileState>> {
    const out = new Map<string, FileState>(dirs.map((d) => [d, { type: 'absent' }]));
    const r = await this.sh(
      'for d in "$@"; do [ -e "$d" ] || [ -L "$d" ] || continue; find "$d" ' +
        "\\( -type l -printf 'L\\0%U\\0%G\\0%p\\0%l\\0' \\) -o \\( -type d -printf 'D\\0%m\\0%U\\0%G\\0%p\\0' \\) " +
        "-o \\( -type f -printf 'F\\0%m\\0%U\\0%G\\0%p\\0' -exec base64 -w0 {} \\; -printf '\\0' \\); done",
      dirs,
    );
    const f = r.stdout.split('\0');
    for (let i = 0; i + 4 < f.length; ) {
      const kind = f[i]!;
      if (kind === 'L') {
        out.set(f[i + 3]!, { type: 'link', uid: Number(f[i + 1]), gid: Number(f[i + 2]), target: f[i + 4]! });
        i += 5;
      } else if (kind === 'D') {
        out.set(f[i + 4]!, { type: 'dir', mode: parseInt(f[i + 1]!, 8), uid: Number(f[i + 2]), gid: Number(f[i + 3]) });
        i += 5;
      } else {
        out.set(f[i + 4]!, { type: 'file', mode: parseInt(f[i + 1]!, 8), uid: Number(f[i + 2]), gid: Number(f[i + 3]), content: Buffer.from(f[i + 5]!, 'base64') });
        i += 6;
      }
    }
    return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    return this.ssh(argv, opts);
  }

  /**
   * systemctl on the live host. Without a running systemd (a container, a chroot) systemctl
   * cannot talk to the manager; it then falls back to `systemctl --root=/`, which edits the unit
   * symlinks offline exactly as on an image, and the report says so.
   */
  async systemctl(args: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    if (!this.offlineSystemctl) {
      const r = await this.ssh(['systemctl', ...args], { allowFailure: true, signal: opts.signal });
      if (r.exitCode === 0) return r;
      if (!/not been booted with systemd|Failed to connect to bus|Host is down|System has not been booted/i.test(r.stderr)) {
        if (opts.allowFailure) return r;
        throw new ToolFailedError(`ssh ${this.spec} systemctl ${args.join(' ')}`, r.exitCode, r.stderr);
      }
      this.offlineSystemctl = true;
      this.notes.push(`systemd is not running on ${this.spec} (${r.stderr.trim().split('\n')[0]}); unit files were changed offline with systemctl --root=/`);
    }
    return this.ssh(['systemctl', '--root=/', ...args], opts);
  }

  describeCommand(argv: readonly string[], systemctl: boolean): string {
    return `${this.spec}: ${shellJoin([...this.sudo, ...(systemctl ? ['systemctl'] : []), ...argv])}`;
  }

  async close(): Promise<void> {
    await run('ssh', ['-o', `ControlPath=${join(this.controlDir, 'master')}`, '-O', 'exit', this.opts.host], { allowFailure: true });
    await rm(this.controlDir, { recursive: true, force: true });
  }
}
