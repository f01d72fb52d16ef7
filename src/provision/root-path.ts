import { lstat, readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { UsageError } from '../errors.js';

/**
 * Map an absolute path inside a root directory to a host path with chroot semantics: symlinks in
 * the parent components are followed relative to the root (an absolute link /var/run -> /run
 * stays inside the root, `..` never climbs above it). The last component is not followed unless
 * `followLast` is set, so callers get lstat semantics by default.
 */
export async function resolveInRoot(root: string, path: string, followLast = false): Promise<string> {
  if (!path.startsWith('/')) throw new UsageError(`internal path "${path}" is not absolute`);
  const pending = path.split('/').filter(Boolean);
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = posix.join(root, ...done, part);
    const isLast = pending.length === 0;
    if (isLast && !followLast) {
      done.push(part);
      break;
    }
    const st = await lstat(host).catch(() => null);
    if (st?.isSymbolicLink()) {
      if (++hops > 40) throw new UsageError(`too many levels of symbolic links resolving ${path} in ${root}`);
      const link = await readlink(host);
      if (link.startsWith('/')) done.length = 0;
      pending.unshift(...link.split('/').filter(Boolean));
      continue;
    }
    done.push(part);
  }
  return posix.join(root, ...done);
}
