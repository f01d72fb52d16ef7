import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** sha256 (hex) over labelled parts: strings and file contents, in the order given. */
export class InputHash {
  private readonly h = createHash('sha256');

  text(label: string, value: string): this {
    this.h.update(`${label}\0${value.length}\0${value}\0`);
    return this;
  }

  async file(label: string, path: string): Promise<this> {
    const data = await readFile(path);
    this.h.update(`${label}\0${data.length}\0`);
    this.h.update(data);
    return this;
  }

  /** Every regular file under `dir` (sorted, by relative path), skipping `exclude` names. */
  async tree(label: string, dir: string, exclude: readonly string[] = []): Promise<this> {
    for (const path of await listFiles(dir, exclude)) await this.file(`${label}/${relative(dir, path)}`, path);
    return this;
  }

  digest(): string {
    return this.h.digest('hex');
  }
}

export async function listFiles(dir: string, exclude: readonly string[] = []): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (exclude.includes(e.name)) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(path, exclude)));
    else if (e.isFile()) out.push(path);
  }
  return out;
}
