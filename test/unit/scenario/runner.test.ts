import t from 'tap';
import { parseScenario } from '../../../src/scenario/load.js';
import { defaultTimeoutS, runScenario, runScenarios, withTimeout } from '../../../src/scenario/runner.js';
import { builtinScenario } from '../../../src/scenario/builtin.js';
import type { Reporter } from '../../../src/scenario/result.js';
import { ChildEngine, missingEngineBoot, simBoot } from './fixtures/child-engine.js';
import { runProgram as run } from '../../../src/util/run.js';
import { TimeoutError } from '../../../src/errors.js';

const scenario = (yaml: string) => parseScenario(yaml, 'test.yaml');

t.test('a built-in run against a simulated guest measures each speed and reports the sleep as informational', async (t) => {
  const engines: ChildEngine[] = [];
  // The simulated guest's sleeps do not scale: the sleep is reported, not asserted.
  const s = builtinScenario({ p: 10, q: 1 }, { measureS: 1, sleepS: 1, tolerancePct: 15, sleepExpect: 'report' });
  const r = await runScenario(s, { boot: simBoot(engines) });
  t.equal(r.status, 'pass', r.steps.map((x) => `${x.status} ${x.message ?? ''}`).join('; '));
  const measures = r.steps.filter((x) => x.kind === 'measure');
  t.same(measures.map((m) => m.requested), [1, 10, 1]);
  for (const m of measures) {
    t.ok(Math.abs(m.errorPct!) < 15, `${m.name}: ${m.measured} within 15% (a loaded host delays replies unevenly)`);
    t.ok(m.samples! >= 3);
    t.equal(m.backwardsNs, 0);
    t.ok(m.raw!.length === m.samples);
  }
  const sleep = r.steps.find((x) => x.kind === 'sleep')!;
  t.equal(sleep.status, 'info');
  t.match(sleep.message, /known limitation/);
  t.equal((sleep.details as { behaved: string }).behaved, 'unchanged');
  t.equal(r.steps.at(-1)!.kind, 'poweroff');
  await engines[0]!.exited;
  t.notOk(engines[0]!.alive, 'the guest process is gone');
});

t.test('a guest that stops answering fails its scenario with a timeout and the runner goes on', async (t) => {
  const engines: ChildEngine[] = [];
  // The exec'd shell stops the guest process itself (SIGSTOP): a real hung guest, not a mock.
  const s = scenario(`
name: hang
steps:
  - measure: 0.3
    tolerance: 15
    minR2: 0.5
  - exec: kill -STOP $PPID
    timeout: 1.5
  - measure: 0.3
    tolerance: 15
    minR2: 0.5
`);
  const t0 = Date.now();
  const r = await runScenario(s, { boot: simBoot(engines) });
  t.ok(Date.now() - t0 < 30_000, 'returned');
  t.equal(r.status, 'timeout');
  t.same(r.steps.map((x) => x.status), ['pass', 'pass', 'timeout', 'skip']);
  t.match(r.steps[2]!.message, /did not finish within 1.5 s/);
  t.match(r.steps[3]!.message, /not run: step 2 \(exec kill -STOP \$PPID\) timed out/);
  await engines[0]!.exited;
  t.notOk(engines[0]!.alive, 'the hung guest was killed');
});

t.test('the scenario-wide timeout bounds every step', async (t) => {
  const r = await runScenario(scenario('timeout: 5\nsteps:\n  - exec: sleep 30\n'), { boot: simBoot() });
  t.equal(r.status, 'timeout');
  t.equal(r.steps[1]!.status, 'timeout');
});

t.test('a guest that never becomes ready times out at boot', async (t) => {
  const engines: ChildEngine[] = [];
  const s = scenario('machine: {bootTimeout: 1}\nsteps:\n  - measure: 1\n');
  const r = await runScenario(s, { boot: simBoot(engines, 60_000) });
  t.equal(r.status, 'timeout');
  t.same(r.steps.map((x) => x.status), ['timeout', 'skip']);
  await engines[0]!.exited;
  t.notOk(engines[0]!.alive);
});

t.test('the boot step names the CPU count when the machine has more than one', async (t) => {
  const one = await runScenarios([scenario('steps:\n  - measure: 1\n')], { boot: missingEngineBoot });
  t.equal(one.scenarios[0]!.steps[0]!.name, 'boot (qemu, 512M)');
  const four = await runScenarios([scenario('machine: {cpus: 4, memory: 1G}\nsteps:\n  - measure: 1\n')], { boot: missingEngineBoot });
  t.equal(four.scenarios[0]!.steps[0]!.name, 'boot (qemu, 1G, 4 CPUs)');
});

t.test('a missing engine skips the scenario (exit 77)', async (t) => {
  const sum = await runScenarios([scenario('steps:\n  - measure: 1\n')], { boot: missingEngineBoot });
  t.equal(sum.exitCode, 77);
  t.equal(sum.scenarios[0]!.status, 'skip');
  t.match(sum.scenarios[0]!.steps[0]!.message, /qemu-system-x86_64 is not installed/);
});

t.test('checks that do not hold fail the scenario (exit 1) but later steps still run', async (t) => {
  const s = scenario(`
steps:
  - arm: hypercall
  - speed: 2
    via: hypercall
  - measure: 0.4
    expect: 3
  - exec: echo hello; exit 3
    exit: 0
  - exec: echo hello
    output: "^hel+o$"
  - sleep: 0.5
    expect: scaled
  - monotonic: true
`);
  const sum = await runScenarios([s], { boot: simBoot() });
  t.equal(sum.exitCode, 1);
  const st = sum.scenarios[0]!.steps;
  t.same(st.map((x) => x.status), ['pass', 'pass', 'pass', 'fail', 'fail', 'pass', 'fail', 'pass']);
  t.match(st[3]!.message, /off 3x/);
  t.match(st[4]!.message, /exit code 3, expected 0: hello/);
  t.match(st[6]!.message, /expected scaled/);
});

t.test('a wait that never matches times out; a step that cannot be carried out stops the scenario with status error', async (t) => {
  const r = await runScenario(scenario('steps:\n  - wait: never-printed\n    timeout: 0.5\n  - measure: 1\n'), { boot: simBoot() });
  t.equal(r.status, 'timeout');
  const r2 = await runScenario(scenario('steps:\n  - speed: 1/2\n  - speed: 3\n    via: hotkey\n'), { boot: simBoot() });
  t.equal(r2.status, 'error', 'hotkeys cannot step from 0.5x');
  t.match(r2.steps[2]!.message, /hotkeys cannot go from 0.5x to 3x/);
});

t.test('hotkeys: a planned speed, toggles with an expected result, and a clock read after each press', async (t) => {
  const engines: ChildEngine[] = [];
  const s = scenario(`
steps:
  - arm: control
  - speed: 3
    via: hotkey
  - measure: 0.4
    tolerance: 15
    minR2: 0.5
  - speed: 1
    via: hotkey
  - hotkey: toggle
    times: 21
    gap: 0
    expect: 10
  - measure: 0.4
    tolerance: 15
    minR2: 0.5
  - hotkey: toggle
    expect: 2
  - hotkey: [ctrl, alt, f12]
  - wait: simulated
    on: hypervisor
`);
  const r = await runScenario(s, { boot: simBoot(engines) });
  t.equal(r.status, 'fail');
  t.same(r.steps.map((x) => x.status), ['pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'fail', 'pass', 'pass']);
  t.equal(r.steps[5]!.backwardsNs, 0);
  t.equal(r.steps[6]!.requested, 10);
  t.match(r.steps[7]!.message, /now 1x; expected 2x/);
  t.match(r.steps[8]!.message, /now 10x/);
  t.equal(engines[0]!.keysSent.length, 2 + 2 + 21 + 1 + 1);
});

t.test('several scenarios run in parallel with -j and reporters see every step', async (t) => {
  const events: string[] = [];
  const reporter: Reporter = {
    runStart: (s) => events.push(`run ${s.length}`),
    stepStart: (s, i) => events.push(`start ${s.name} ${i}`),
    stepProgress: () => events.push('progress'),
    stepEnd: (s, r) => events.push(`end ${s.name} ${r.index} ${r.status}`),
    runEnd: (sum) => void events.push(`done ${sum.exitCode}`),
  };
  const a = parseScenario('steps:\n  - measure: 0.5\n    tolerance: 15\n    minR2: 0.5\n', 'a.yaml');
  const b = parseScenario('steps:\n  - exec: "true"\n', 'b.yaml');
  const sum = await runScenarios([a, b], { boot: simBoot(), jobs: 2, reporter, keepRaw: false });
  t.equal(sum.exitCode, 0);
  t.ok(events.includes('end a 1 pass') && events.includes('end b 1 pass'));
  t.equal(events.at(-1), 'done 0');
  t.equal(sum.scenarios[0]!.steps[1]!.raw, undefined, 'raw samples dropped when not wanted');
});

t.test('withTimeout kills a real hung child process through its abort signal', async (t) => {
  const t0 = Date.now();
  await t.rejects(withTimeout((signal) => run('sleep', ['60'], { cancelSignal: signal }), 300, 'sleep 60'), TimeoutError);
  t.ok(Date.now() - t0 < 10_000);
  t.equal(await withTimeout(async () => 5, 1000, 'x'), 5);
});

t.test('default step timeouts leave room for the step', async (t) => {
  const [m, sl, h, e, p] = scenario('steps:\n  - measure: 5\n  - sleep: 10\n  - hotkey: toggle\n    times: 10\n  - exec: "true"\n  - poweroff: true\n').steps;
  t.equal(defaultTimeoutS(m!, 1), 65);
  t.equal(defaultTimeoutS(sl!, 0.1), 260);
  t.equal(defaultTimeoutS(sl!, 60), 80);
  t.equal(defaultTimeoutS(m!, 1, 4), 260, 'a slower engine stretches the limit');
  t.ok(defaultTimeoutS(h!, 1) > 50);
  t.equal(defaultTimeoutS(e!, 1), 120);
  t.equal(defaultTimeoutS(p!, 1), 60);
});
