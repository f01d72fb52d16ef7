#!/usr/bin/env node
// Closing lines of `npm test`, whether tap passed or not (CI shows only the tail of the log, so
// a failure must be named here, not only somewhere in 50,000 lines of TAP):
// - every failing test, as "not ok: FILE > parent > name", with its first diagnostic line;
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
const failures = [];
if (existsSync(resultsDir)) {
  for (const file of walk(resultsDir)) {
    const testFile = relative(resultsDir, file).replace(/\.tap$/, '');
    if (!existsSync(join(root, testFile))) continue; // results of a test file that no longer exists
    const lines = readFileSync(file, 'utf8').split('\n');
    // The names of the enclosing subtests, by indentation (tap indents a child by 4 spaces).
    const path = [];
    lines.forEach((line, i) => {
      const sub = /^(\s*)# Subtest: (.*)$/.exec(line);
      if (sub) {
        const depth = sub[1].length / 4;
        path.length = depth;
        path[depth] = sub[2];
        return;
      }
      const nested = /^(\s*)not ok \d+ - (.*)$/.exec(line);
      if (nested && !/#\s*(SKIP|TODO)\b/i.test(line)) {
        const depth = nested[1].length / 4;
        const name = path.slice(0, depth).filter(Boolean).concat(nested[2].replace(/\s*# time=.*$/, '')).join(' > ');
        // The found/wanted values or the diff's two sides from the YAML block that follows.
        const block = [];
        for (const l of lines.slice(i + 1)) {
          if (/^\s*\.\.\.$/.test(l) || /^\s*(not )?ok \d+/.test(l)) break;
          const v = /^\s*(found|wanted|message): (.*)$/.exec(l) ?? /^\s*([-+])(?![-+]{2})(.+)$/.exec(l);
          if (v && block.length < 4) block.push(`${v[1] === '-' ? 'wanted' : v[1] === '+' ? 'found' : v[1]} ${v[2].trim()}`);
        }
        // A parent's "not ok" comes after its children's: name only the innermost failures.
        if (!failures.some((f) => f.file === testFile && f.name.startsWith(`${name} > `)))
          failures.push({ file: testFile, name, detail: block.join(', ') });
      }
      const m = /^(not )?ok \d+/.exec(line);
      if (!m) return;
      if (/#\s*(SKIP|TODO)\b/i.test(line)) counts.skipped++;
      else if (m[1]) counts.failed++;
      else counts.passed++;
    });
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

for (const f of failures) console.log(`not ok: ${f.file} > ${f.name}${f.detail ? ` (${f.detail})` : ''}`);
console.log(`tap: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exitCode = counts.failed > 0 ? 1 : 0;
