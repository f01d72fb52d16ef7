import t from 'tap';
import { HvPort, checkControlLine, classifyHvLine, parseControlReply } from '../../../src/engines/hv-port.js';
import { TimeoutError, TsxHvError } from '../../../src/errors.js';

t.test('classifies log lines, replies and other output', async (t) => {
  t.equal(classifyHvLine('# tsx-hv: guest starting'), 'log');
  t.equal(classifyHvLine('# PANIC unexpected exit'), 'log');
  t.equal(classifyHvLine('ok'), 'reply');
  t.equal(classifyHvLine('ok {"speed":"1/1"}'), 'reply');
  t.equal(classifyHvLine('err EINVAL bad speed'), 'reply');
  t.equal(classifyHvLine('okay'), 'other');
  t.equal(classifyHvLine('GRUB noise'), 'other');
});

t.test('parses ok and err replies', async (t) => {
  t.same(parseControlReply('ok speed=60/1'), { ok: true, payload: 'speed=60/1', line: 'ok speed=60/1' });
  t.same(parseControlReply('ok'), { ok: true, payload: '', line: 'ok' });
  t.same(parseControlReply('err EINVAL speed must be positive'), { ok: false, code: 'EINVAL', payload: 'speed must be positive', line: 'err EINVAL speed must be positive' });
  t.same(parseControlReply('err'), { ok: false, code: 'unknown', payload: '', line: 'err' });
  t.throws(() => parseControlReply('hello'), TsxHvError);
});

t.test('control lines are one printable line', async (t) => {
  t.equal(checkControlLine('speed 60'), 'speed 60');
  for (const bad of ['', 'a\nb', 'x'.repeat(201), 'caf\u00e9']) t.throws(() => checkControlLine(bad), /one line/);
});

t.test('requests go out one at a time; log lines in between are kept', async (t) => {
  const sent: string[] = [];
  const logged: string[] = [];
  const port = new HvPort((s) => sent.push(s), (l) => logged.push(l));
  const a = port.control('speed 10', 1000);
  const b = port.control('status', 1000);
  await new Promise((r) => setImmediate(r));
  t.same(sent, ['speed 10\n'], 'second request waits for the first reply');
  port.line('# tsx-hv: speed 10/1');
  port.line('ok speed=10/1');
  t.equal(await a, 'ok speed=10/1');
  await new Promise((r) => setImmediate(r));
  t.same(sent, ['speed 10\n', 'status\n']);
  port.line('err ENOTARMED not armed');
  t.equal(await b, 'err ENOTARMED not armed');
  port.line('ok unsolicited');
  t.same(logged, ['# tsx-hv: speed 10/1', 'ok unsolicited']);
  t.same(port.log, logged);
});

t.test('timeouts, bad lines and a closed port', async (t) => {
  const port = new HvPort(() => undefined);
  await t.rejects(port.control('status', 10), TimeoutError);
  t.throws(() => port.control('a\nb', 10));
  const p = port.control('status', 10_000);
  await new Promise((r) => setImmediate(r));
  port.close(new TsxHvError('GONE', 'gone'));
  await t.rejects(p, /gone/);
  await t.rejects(port.control('status', 10), /gone/);
});
