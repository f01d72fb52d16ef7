// A hung guest fails its scenario and never hangs the runner: inside a real guest the agent is
// stopped (SIGSTOP from a command it runs), so the next request gets no reply; the step's time
// limit ends the scenario with status timeout (exit code 124) and the machine is killed.
import t from 'tap';
import { boot } from '../../../src/scenario/boot.js';
import { parseScenario } from '../../../src/scenario/load.js';
import { runScenarios } from '../../../src/scenario/runner.js';
import { standardMedia } from '../hv/fixtures.js';

t.test('a guest whose agent stops answering times out (124) and is killed', async (t) => {
  const media = await standardMedia();
  const machine = await boot({ media, readyTimeoutMs: 300_000 });
  t.teardown(() => machine.kill());
  const scenario = parseScenario(
    `name: hang
steps:
  - measure: 2
  - exec: kill -STOP $PPID
    timeout: 15
  - measure: 2
`,
    'hang.yaml',
  );
  const t0 = Date.now();
  const summary = await runScenarios([scenario], { boot: async () => machine });
  const steps = summary.scenarios[0]!.steps;
  t.comment(steps.map((s) => `${s.index} ${s.status} ${s.name} ${(s.durationMs / 1000).toFixed(1)} s ${s.message ?? ''}`).join('\n'));
  t.equal(summary.exitCode, 124);
  t.same(steps.map((s) => s.status), ['pass', 'pass', 'timeout', 'skip']);
  t.match(steps[2]!.message, /did not finish within 15 s/);
  t.ok(Date.now() - t0 < 120_000, 'the runner came back');
  await machine.engine.exited;
  t.notOk(machine.engine.running, 'QEMU is gone');
});
