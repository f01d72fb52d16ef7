#!/usr/bin/env node
// Closing lines of `npm test`, after tap has passed:
// - modules whose own coverage is under the .taprc bar (tap enforces the bar on the total of all
//   mapped modules; this names the modules that pull it down; see docs/testing.md);
// - one plain line "tap: N passed, N failed, N skipped" counting the top-level tests of every
//   test file in this run, from tap's per-file results in .tap/test-results.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const resultsDir = join(root, '.tap', 'test-results');

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (name.endsWith('.tap')) yield path;
  }
}

const counts = { passed: 0, failed: 0, skipped: 0 };
if (existsSync(resultsDir)) {
  for (const file of walk(resultsDir)) {
    const testFile = relative(resultsDir, file).replace(/\.tap$/, '');
    if (!existsSync(join(root, testFile))) continue; // results of a test file that no longer exists
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^(not )?ok \d+/.exec(line);
      if (!m) continue;
      if (/#\s*(SKIP|TODO)\b/i.test(line)) counts.skipped++;
      else if (m[1]) counts.failed++;
      else counts.passed++;
    }
  }
}

const bar = Object.fromEntries(
  readFileSync(join(root, '.taprc'), 'utf8')
    .split('\n')
    .map((l) => /^(statements|lines|functions|branches):\s*(\d+)/.exec(l))
    .filter(Boolean)
    .map((m) => [m[1], Number(m[2])]),
);
const report = spawnSync(process.execPath, [join(root, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs'), 'report', 'json-summary'], { cwd: root, encoding: 'utf8' });
const summaryFile = join(root, '.tap', 'report', 'coverage-summary.json');
if (report.status === 0 && existsSync(summaryFile)) {
  const summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
  for (const [file, cov] of Object.entries(summary)) {
    if (file === 'total') continue;
    const low = Object.entries(bar).filter(([k, min]) => cov[k].pct < min).map(([k]) => `${k} ${cov[k].pct}%`);
    if (low.length) console.log(`coverage: ${relative(root, file)} is under the bar (${low.join(', ')})`);
  }
}

console.log(`tap: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exitCode = counts.failed > 0 ? 1 : 0;
