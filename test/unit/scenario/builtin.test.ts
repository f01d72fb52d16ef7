import t from 'tap';
import { builtinScenario } from '../../../src/scenario/builtin.js';

t.test('the built-in scenario: arm, 1x, N, sleep check at N, back to 1x, monotonic, power off', async (t) => {
  const s = builtinScenario({ p: 60, q: 1 });
  t.equal(s.name, 'speed-60');
  t.equal(s.source, 'builtin:--speed 60');
  t.same(s.steps.map((x) => x.name), [
    'arm (control)',
    'measure 1x',
    'speed 60x (control)',
    'measure 60x',
    'sleep 120 s at 60x (scaled ±15%)',
    'speed 1x (control)',
    'measure 1x',
    'clock never went backwards',
    'power off',
  ]);
  t.match(s.steps[3], { kind: 'measure', tolerancePct: 2, durationS: 5, expect: { p: 60, q: 1 } });
  t.match(s.steps[4], { kind: 'sleep', expect: 'scaled', seconds: 120, tolerancePct: 15 });
  t.match(builtinScenario({ p: 1000, q: 1 }).steps[4], { expect: 'report', seconds: 120, name: 'sleep 120 s at 1000x (informational)' }, 'above 60x the capped sleep is too short to assert');
  t.match(builtinScenario({ p: 60, q: 1 }, { sleepExpect: 'report' }).steps[4], { expect: 'report' });
  t.match(s.machine, { engine: 'qemu', memory: '512M', cpus: 1, bootTimeoutS: 300 });
});

t.test('on Bochs the machine gets its engine, vendor, rate and boot limit', async (t) => {
  t.match(builtinScenario(60, { machine: { engine: 'bochs', cpuVendor: 'intel', ips: 40_000_000 } }).machine, { engine: 'bochs', cpuVendor: 'intel', ips: 40_000_000, bootTimeoutS: 900 });
});

t.test('options and fractional speeds', async (t) => {
  const s = builtinScenario({ p: 1, q: 10 }, { tolerancePct: 5, measureS: 2, sleepS: 1, machine: { media: '/m.iso' } });
  t.equal(s.name, 'speed-1-10');
  t.equal(s.machine.media, '/m.iso');
  t.match(s.steps[3], { tolerancePct: 5, durationS: 2, name: 'measure 0.1x' });
  t.match(s.steps[4], { seconds: 1 });
  t.match(builtinScenario({ p: 1, q: 10 }).steps[4], { seconds: 2 }, 'at least 2 s');
  t.match(builtinScenario({ p: 5, q: 1 }).steps[4], { seconds: 10 });
  t.match(builtinScenario({ p: 1000, q: 1 }).steps[4], { seconds: 120 }, 'at most 120 s');
});
