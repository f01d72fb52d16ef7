import type { Target } from './target.js';
import type { FileState } from './types.js';

/** Whether two states are the same for revert purposes: type, owner, mode, link target, bytes. */
export function sameState(a: FileState, b: FileState): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'absent':
      return true;
    case 'dir': {
      const d = b as typeof a;
      return a.mode === d.mode && a.uid === d.uid && a.gid === d.gid;
    }
    case 'link': {
      const l = b as typeof a;
      return a.target === l.target && a.uid === l.uid && a.gid === l.gid;
    }
    case 'file': {
      const f = b as typeof a;
      return a.mode === f.mode && a.uid === f.uid && a.gid === f.gid && a.content.equals(f.content);
    }
  }
}

/** The state of directories and everything below them, keyed by absolute path. */
export async function snapshotTrees(target: Target, dirs: readonly string[]): Promise<Map<string, FileState>> {
  if (dirs.length === 0) return new Map();
  if (target.trees) return target.trees(dirs);
  const out = new Map<string, FileState>();
  for (const dir of dirs) {
    out.set(dir, await target.state(dir));
    for (const path of await target.list(dir)) out.set(path, await target.state(path));
  }
  return out;
}

export function snapshotTree(target: Target, dir: string): Promise<Map<string, FileState>> {
  return snapshotTrees(target, [dir]);
}
