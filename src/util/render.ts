/**
 * Plain-text and JSON rendering shared by the library's reporters and the CLI: an aligned table
 * that ignores colour codes, and the JSON replacer that prints bigints (TSC values) as strings.
 */

/** Render rows as an aligned plain-text table: two spaces between columns, no trailing spaces. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visibleLength(cell)))).join('  ').trimEnd())
    .join('\n');
}

/** Length on the screen: ANSI colour codes take no room. */
export function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/** JSON.stringify replacer: bigints (which JSON cannot hold) become decimal strings. */
export function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
