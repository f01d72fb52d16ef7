import t from 'tap';
import { UsageError } from '../../../src/errors.js';
import { SPEED_TERM_MAX, formatSpeed, parseSpeed, sameSpeed, speedArgument, speedValue } from '../../../src/control/speed.js';

t.test('whole numbers, fractions and decimals become exact reduced fractions', async (t) => {
  t.same(parseSpeed(60), { p: 60, q: 1 });
  t.same(parseSpeed('60'), { p: 60, q: 1 });
  t.same(parseSpeed('007'), { p: 7, q: 1 }, 'leading zeros are still a whole number');
  t.same(parseSpeed(0.5), { p: 1, q: 2 });
  t.same(parseSpeed(0.1), { p: 1, q: 10 }, 'a JavaScript number is read as its shortest decimal form');
  t.same(parseSpeed('1/10'), { p: 1, q: 10 });
  t.same(parseSpeed('4/6'), { p: 2, q: 3 });
  t.same(parseSpeed(' 1 / 10 '), { p: 1, q: 10 });
  t.same(parseSpeed(' 2.5 '), { p: 5, q: 2 });
  t.same(parseSpeed('0.125'), { p: 1, q: 8 });
  t.same(parseSpeed('2.50000000'), { p: 5, q: 2 }, 'trailing zeros after the point do not count as digits');
  t.same(parseSpeed('3.0'), { p: 3, q: 1 });
  t.same(parseSpeed({ p: 4, q: 6 }), { p: 2, q: 3 }, 'a Speed object is checked and reduced too');
  t.same(parseSpeed('2000000000/2000000000'), { p: 1, q: 1 }, 'long terms are fine when they reduce');
});

t.test('the range is the hypervisor\'s, 1/1000 to 10000, both ends included', async (t) => {
  t.same(parseSpeed('10000'), { p: 10000, q: 1 });
  t.same(parseSpeed(10000), { p: 10000, q: 1 });
  t.same(parseSpeed('1/1000'), { p: 1, q: 1000 });
  t.same(parseSpeed('0.001'), { p: 1, q: 1000 });
  t.same(parseSpeed(0.001), { p: 1, q: 1000 });
  t.same(parseSpeed('20000000/2000'), { p: 10000, q: 1 });
  for (const bad of ['0.0000001', 0.0000001, '10001', 10000.5, '10000.000001', '1/1001', '0.000999', 1e21, '0', 0, '0/5', '-2', -1, '-1/2', '1/-2', '-1/-2', { p: -1, q: -2 }, { p: 1, q: 1001 }, { p: 0, q: 1 }]) {
    t.throws(() => parseSpeed(bad), { exitCode: 2, message: /is out of range: the hypervisor runs guests from 1\/1000 to 10000 times real time$/ }, JSON.stringify(bad));
  }
});

t.test('garbage is not a speed, and says what a speed looks like', async (t) => {
  for (const bad of ['', 'fast', '1/2/3', '1e3', '0x10', '.5', '5.', '1.5/3', '1/', '/2', '+-1', Infinity, NaN, { p: 0.5, q: 1 }]) {
    t.throws(() => parseSpeed(bad), { exitCode: 2, message: /is not a speed: use a whole number \(60\), a fraction P\/Q \(1\/10\) or a decimal/ }, JSON.stringify(bad));
  }
  for (const bad of ['1/0', { p: 1, q: 0 }]) t.throws(() => parseSpeed(bad), { exitCode: 2, message: /divides by zero/ });
});

t.test('decimals have at most 6 digits after the point: no silent rounding', async (t) => {
  t.same(parseSpeed('1.000001'), { p: 1000001, q: 1000000 });
  t.throws(() => parseSpeed('1.0000001'), { exitCode: 2, message: /speed "1.0000001" has more than 6 digits after the point/ });
  t.throws(() => parseSpeed(1 / 3), { exitCode: 2, message: /more than 6 digits after the point/, hint: /fraction/ });
});

t.test('reduced terms longer than the control protocol reads (9 digits) are refused', async (t) => {
  t.equal(SPEED_TERM_MAX, 999_999_999);
  t.same(parseSpeed('999999999/999999998'), { p: 999999999, q: 999999998 });
  t.throws(() => parseSpeed('1000000001/1000000000'), { exitCode: 2, message: /reduces to 1000000001\/1000000000, whose terms are longer than the 9 digits/ });
  t.throws(() => parseSpeed('9999.999999'), { exitCode: 2, message: /reduces to 9999999999\/1000000/ });
});

t.test('every refusal is a UsageError with a hint', async (t) => {
  for (const bad of ['fast', '0', '1/0', '0.1234567', '1000000001/1000000000']) {
    try {
      parseSpeed(bad);
      t.fail(bad);
    } catch (err) {
      t.type(err, UsageError, bad);
      t.ok((err as UsageError).hint, bad);
    }
  }
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
