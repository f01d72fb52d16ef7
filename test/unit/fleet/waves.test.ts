import t from 'tap';
import { cutWaves, DEFAULT_WAVES, parseMaxFail, parseWaves } from '../../../src/fleet/waves.js';
import { UsageError } from '../../../src/errors.js';

const hosts = (n: number): string[] => Array.from({ length: n }, (_, i) => `h${i + 1}`);

t.test('wave lists parse from commas or JSON, and bad items are named', async (t) => {
  t.same(parseWaves('1,10%,50%,100%'), [1, '10%', '50%', '100%']);
  t.same(parseWaves(' 2 , 100% '), [2, '100%']);
  t.same(parseWaves('[1, "25%", 3]'), [1, '25%', 3]);
  for (const [bad, re] of [
    ['', /at least one/],
    ['0', /"0" is neither/],
    ['1,,2', /"" is neither/],
    ['10.5%', /"10.5%" is neither/],
    ['150%', /"150%" is not a percentage/],
    ['0%', /"0%" is not a percentage/],
    ['-1', /"-1" is neither/],
    ['[1,', /not a JSON list/],
    ['["x"]', /"x" is neither/],
  ] as const) t.throws(() => parseWaves(bad), re, JSON.stringify(bad));
  t.throws(() => parseWaves('x'), UsageError);
});

t.test('waves are cut as ansible-playbook cuts serial batches: percentages of all hosts, rounded down, at least 1, the last size repeating', async (t) => {
  t.same(cutWaves(hosts(3), [2, '100%']), [['h1', 'h2'], ['h3']]);
  t.same(cutWaves(hosts(3), DEFAULT_WAVES), [['h1'], ['h2'], ['h3']], '10% and 50% of 3 hosts round down to 0, then 1');
  t.same(cutWaves(hosts(20), DEFAULT_WAVES).map((w) => w.length), [1, 2, 10, 7]);
  t.same(cutWaves(hosts(200), DEFAULT_WAVES).map((w) => w.length), [1, 20, 100, 79]);
  t.same(cutWaves(hosts(5), [2]).map((w) => w.length), [2, 2, 1], 'the last size repeats');
  t.same(cutWaves(hosts(0), [1]), []);
  t.same(cutWaves(hosts(4), ['30%']).map((w) => w.length), [1, 1, 1, 1]);
});

t.test('the failure threshold is a percentage from 0 to 100', async (t) => {
  t.equal(parseMaxFail('10'), 10);
  t.equal(parseMaxFail('0'), 0);
  t.equal(parseMaxFail('25%'), 25);
  for (const bad of ['', '-1', '101', 'x']) t.throws(() => parseMaxFail(bad), /--max-fail/, bad);
});
