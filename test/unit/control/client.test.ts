import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlRefusedError, control, controlExchange, parseStatus, resolveControlSocket, speedRequest } from '../../../src/control/client.js';
import { startControlProxy } from '../../../src/control/proxy.js';
import { writeRunState } from '../../../src/control/run-state.js';
import { TimeoutError, UsageError } from '../../../src/errors.js';

t.test('speed requests are validated before they are sent', async (t) => {
  t.equal(speedRequest('60'), 'speed 60');
  t.equal(speedRequest('1/2'), 'speed 1/2');
  t.equal(speedRequest('0.5'), 'speed 1/2', 'decimals become reduced fractions');
  t.equal(speedRequest('2.50'), 'speed 5/2');
  t.equal(speedRequest('3.0'), 'speed 3');
  t.equal(speedRequest('0.001'), 'speed 1/1000');
  t.equal(speedRequest('4/6'), 'speed 2/3', 'fractions are reduced');
  for (const bad of ['0', '-1', '1/0', 'fast', '0.0', '', '1e3', '1/', '0.0000001', '10001', '1/1001']) t.throws(() => speedRequest(bad), UsageError, bad);
  t.throws(() => speedRequest('0.0000001'), { message: 'speed "0.0000001" is out of range: the hypervisor runs guests from 1/1000 to 10000 times real time' }, 'the message every speed parser gives');
});

t.test('status replies carry one JSON object', async (t) => {
  t.same(parseStatus({ ok: true, payload: '{"speed":"10/1","armed":true}', line: '' }), { speed: '10/1', armed: true });
  t.throws(() => parseStatus({ ok: true, payload: '[1]', line: 'ok [1]' }), /not a JSON object/);
  t.throws(() => parseStatus({ ok: true, payload: 'nope', line: 'ok nope' }), /not a JSON object/);
});

t.test('control(): ok replies resolve, err replies throw ControlRefusedError', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'client-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const proxy = await startControlProxy(join(dir, 'c.sock'), async (line) => (line === 'arm' ? 'err ENOTPERM already armed' : `ok ${line}`));
  t.teardown(() => proxy.close());
  t.same(await control('speed 60', { socket: proxy.path }), { ok: true, payload: 'speed 60', line: 'ok speed 60' });
  const err = await control('arm', { socket: proxy.path }).catch((e: unknown) => e);
  t.type(err, ControlRefusedError);
  t.equal((err as ControlRefusedError).exitCode, 1);
  t.match((err as Error).message, /"arm" refused: ENOTPERM already armed/);
});

t.test('finds the socket of the running `tsx-hv run` through the state file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'client-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const statePath = join(dir, 'run.json');
  await writeRunState({ pid: process.pid, startedAt: '', control: '/x/control.sock', hv: '', qmp: '', console: '', workdir: '', hypervisor: true, media: '' }, statePath);
  t.equal(await resolveControlSocket(undefined, statePath), '/x/control.sock');
  t.equal(await resolveControlSocket('/given.sock', statePath), '/given.sock');
});

t.test('connection failures, silence and early close are reported', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'client-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await t.rejects(controlExchange(join(dir, 'none.sock'), ['status']), /cannot talk to .*ENOENT/);
  const silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(join(dir, 'silent.sock'), () => r()));
  t.teardown(() => silent.close());
  await t.rejects(controlExchange(join(dir, 'silent.sock'), ['status'], 100), TimeoutError);
  const closer = createServer((s) => s.end());
  await new Promise<void>((r) => closer.listen(join(dir, 'closer.sock'), () => r()));
  t.teardown(() => closer.close());
  await t.rejects(controlExchange(join(dir, 'closer.sock'), ['status']), /closed before replying/);
});
