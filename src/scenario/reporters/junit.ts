/**
 * JUnit XML, the format CI systems (GitLab, Jenkins, GitHub test reporters) read: one <testsuite>
 * per scenario, one <testcase> per step. A failed check is a <failure>; a timeout or a step that
 * could not run is an <error>; skipped steps are <skipped>; figures go to <system-out>.
 */
import { writeFile } from 'node:fs/promises';
import type { Reporter, RunSummary, StepResult } from '../result.js';
import { figures } from './format.js';

export function xmlEscape(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

function testcase(suite: string, r: StepResult): string {
  const head = `    <testcase classname="${xmlEscape(suite)}" name="${xmlEscape(`${r.index} ${r.name}`)}" time="${seconds(r.durationMs)}"`;
  const body: string[] = [];
  const msg = xmlEscape(r.message ?? '');
  if (r.status === 'fail') body.push(`      <failure message="${msg}" type="check">${msg}</failure>`);
  if (r.status === 'timeout' || r.status === 'error') body.push(`      <error message="${msg}" type="${r.status}">${msg}</error>`);
  if (r.status === 'skip') body.push(`      <skipped message="${msg}"/>`);
  const out = [figures(r), r.status === 'info' ? `informational: ${r.message ?? ''}` : ''].filter(Boolean).join('\n');
  if (out) body.push(`      <system-out>${xmlEscape(out)}</system-out>`);
  return body.length ? `${head}>\n${body.join('\n')}\n    </testcase>` : `${head}/>`;
}

export function junitXml(summary: RunSummary): string {
  const count = (steps: StepResult[], ...st: string[]): number => steps.filter((s) => st.includes(s.status)).length;
  const all = summary.scenarios.flatMap((s) => s.steps);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="tsx-hv test" tests="${all.length}" failures="${count(all, 'fail')}" errors="${count(all, 'timeout', 'error')}" skipped="${count(all, 'skip')}" time="${seconds(summary.durationMs)}">`,
  ];
  for (const s of summary.scenarios) {
    lines.push(
      `  <testsuite name="${xmlEscape(s.name)}" tests="${s.steps.length}" failures="${count(s.steps, 'fail')}" errors="${count(s.steps, 'timeout', 'error')}" skipped="${count(s.steps, 'skip')}" time="${seconds(s.durationMs)}">`,
      `    <properties><property name="source" value="${xmlEscape(s.source)}"/><property name="status" value="${s.status}"/></properties>`,
      ...s.steps.map((r) => testcase(s.name, r)),
      '  </testsuite>',
    );
  }
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}

/** Writes the XML file when the run ends. */
export function junitReporter(file: string): Reporter {
  return { runEnd: (summary) => writeFile(file, junitXml(summary)) };
}
