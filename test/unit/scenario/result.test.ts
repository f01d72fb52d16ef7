import t from 'tap';
import { exitCodeFor, fanOut, publicStep, type Reporter } from '../../../src/scenario/result.js';
import { builtinScenario } from '../../../src/scenario/builtin.js';
import { ladder, ok, summary } from './fixtures/results.js';

t.test('exit codes: timeout beats failure beats skip', async (t) => {
  t.equal(exitCodeFor([ok]), 0);
  t.equal(exitCodeFor([]), 0);
  t.equal(exitCodeFor([ok, { ...ok, status: 'fail' }]), 1);
  t.equal(exitCodeFor([{ ...ok, status: 'error' }]), 1);
  t.equal(exitCodeFor([{ ...ok, status: 'skip' }, ok]), 77);
  t.equal(exitCodeFor([{ ...ok, status: 'skip' }, { ...ok, status: 'fail' }]), 1);
  t.equal(exitCodeFor([{ ...ok, status: 'fail' }, ladder]), 124);
});

t.test('public steps leave the raw samples out', async (t) => {
  t.notOk('raw' in publicStep(ladder.steps[1]!));
  t.equal(publicStep(ladder.steps[1]!).measured, 59.98123456);
});

t.test('fanOut passes every event to every reporter, in order', async (t) => {
  const log: string[] = [];
  const rec = (tag: string): Reporter => ({
    runStart: () => log.push(`${tag} runStart`),
    scenarioStart: () => log.push(`${tag} scenarioStart`),
    stepStart: () => log.push(`${tag} stepStart`),
    stepProgress: () => log.push(`${tag} stepProgress`),
    stepEnd: () => log.push(`${tag} stepEnd`),
    scenarioEnd: () => log.push(`${tag} scenarioEnd`),
    runEnd: async () => void log.push(`${tag} runEnd`),
  });
  const r = fanOut([rec('a'), {}, rec('b')]);
  const s = builtinScenario({ p: 2, q: 1 });
  r.runStart!([s]);
  r.scenarioStart!(s);
  r.stepStart!(s, 0, 'x');
  r.stepProgress!(s, 0, 'y');
  r.stepEnd!(s, ok.steps[0]!);
  r.scenarioEnd!(s, ok);
  await r.runEnd!(summary);
  t.same(log, ['runStart', 'scenarioStart', 'stepStart', 'stepProgress', 'stepEnd', 'scenarioEnd', 'runEnd'].flatMap((e) => [`a ${e}`, `b ${e}`]));
});
