import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/**
 * Directories searched after $PATH: administration programs such as sshd live in sbin, which a
 * non-root user's PATH often leaves out.
 */
export const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'] as const;

/**
 * Find an executable the way a shell would: the first `dir/name` in `searchPath` (then `extraDirs`)
 * that is a regular file with execute permission. Returns its path, or null.
 */
export async function findExecutable(
  name: string,
  opts: { searchPath?: string; extraDirs?: readonly string[] } = {},
): Promise<string | null> {
  if (name.includes('/')) return (await isExecutableFile(name)) ? name : null;
  const dirs = (opts.searchPath ?? process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of [...dirs, ...(opts.extraDirs ?? SBIN_DIRS)]) {
    const candidate = join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return null;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
