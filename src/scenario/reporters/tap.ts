/**
 * TAP version 13 (https://testanything.org/tap-version-13-specification.html): one test point per
 * step, numbered across all scenarios, streamed as steps finish, the plan at the end. Measured
 * figures and messages go into the YAML diagnostic block under each point.
 */
import { stringify } from 'yaml';
import { publicStep, type Reporter, type StepResult } from '../result.js';

export function tapPoint(n: number, scenario: string, r: StepResult): string {
  const ok = r.status === 'pass' || r.status === 'info' || r.status === 'skip';
  const description = `${scenario}: ${r.name}`.replace(/#/g, '\\#');
  const directive = r.status === 'skip' ? ` # SKIP ${r.message ?? ''}`.trimEnd() : '';
  const line = `${ok ? 'ok' : 'not ok'} ${n} - ${description}${directive}\n`;
  if (r.status === 'skip') return line;
  const { index: _i, name: _n, ...diag } = publicStep(r);
  const yaml = stringify({ ...diag, ...(ok ? {} : { severity: r.status }) }, { lineWidth: 0 });
  return line + '  ---\n' + yaml.trimEnd().split('\n').map((l) => '  ' + l).join('\n') + '\n  ...\n';
}

export function tapReporter(write: (text: string) => void): Reporter {
  let n = 0;
  return {
    runStart: () => write('TAP version 13\n'),
    stepEnd: (s, r) => write(tapPoint(++n, s.name, r)),
    runEnd: (summary) => write(`1..${n}\n# ${summary.passed ? 'passed' : 'failed'} (exit ${summary.exitCode})\n`),
  };
}
