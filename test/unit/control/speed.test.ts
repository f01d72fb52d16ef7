import t from 'tap';
import { formatSpeed, parseSpeed, sameSpeed, speedArgument, speedValue } from '../../../src/scenario/speed.js';

t.test('speeds become exact fractions', async (t) => {
  t.same(parseSpeed(60), { p: 60, q: 1 });
  t.same(parseSpeed(0.5), { p: 1, q: 2 });
  t.same(parseSpeed(0.1), { p: 1, q: 10 });
  t.same(parseSpeed('1/10'), { p: 1, q: 10 });
  t.same(parseSpeed('4/6'), { p: 2, q: 3 });
  t.same(parseSpeed(' 2.5 '), { p: 5, q: 2 });
  t.same(parseSpeed('1.5/3'), { p: 1, q: 2 });
});

t.test('anything else is a usage error', async (t) => {
  for (const bad of [0, -1, Infinity, NaN]) t.throws(() => parseSpeed(bad), { exitCode: 2 });
  for (const bad of ['', 'fast', '1/0', '-2', '1/2/3']) t.throws(() => parseSpeed(bad), { exitCode: 2 }, bad);
});

t.test('formatting and comparing', async (t) => {
  t.equal(speedArgument({ p: 60, q: 1 }), '60');
  t.equal(speedArgument({ p: 1, q: 10 }), '1/10');
  t.equal(formatSpeed({ p: 1, q: 10 }), '0.1x');
  t.equal(formatSpeed({ p: 1, q: 3 }), '1/3x');
  t.equal(speedValue({ p: 3, q: 2 }), 1.5);
  t.ok(sameSpeed({ p: 1, q: 2 }, { p: 2, q: 4 }));
  t.notOk(sameSpeed({ p: 1, q: 2 }, { p: 1, q: 3 }));
});
