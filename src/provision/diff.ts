import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../util/run.js';

/**
 * A unified diff of one file change, made by diff(1) (diffutils is essential on every Debian
 * system). A missing side is /dev/null, as in git; binary content is summarised, not dumped.
 */
export async function unifiedDiff(path: string, before: Buffer | null, after: Buffer | null): Promise<string> {
  if ((before && isBinary(before)) || (after && isBinary(after))) {
    return `Binary file ${path}: ${before ? `${before.length} bytes` : 'absent'} -> ${after ? `${after.length} bytes` : 'absent'}\n`;
  }
  const dir = await mkdtemp(join(tmpdir(), 'tsx-hv-diff-'));
  try {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await writeFile(a, before ?? '');
    await writeFile(b, after ?? '');
    const r = await run('diff', ['-u', '--label', before ? `a${path}` : '/dev/null', '--label', after ? `b${path}` : '/dev/null', a, b], { allowFailure: true });
    return r.stdout.endsWith('\n') || r.stdout === '' ? r.stdout : r.stdout + '\n';
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function isBinary(content: Buffer): boolean {
  return content.subarray(0, 8000).includes(0);
}
