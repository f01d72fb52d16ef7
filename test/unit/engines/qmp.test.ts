import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpClient, QmpError, formatCommand, parseMessage, sendKeyArgs } from '../../../src/engines/qmp.js';
import { TimeoutError, TsxHvError } from '../../../src/errors.js';

t.test('framing: one JSON object per line, ids echoed', async (t) => {
  t.equal(formatCommand('qmp_capabilities'), '{"execute":"qmp_capabilities"}\n');
  t.equal(formatCommand('send-key', { keys: [] }, 7), '{"execute":"send-key","arguments":{"keys":[]},"id":7}\n');
  t.same(parseMessage('{"return": {}, "id": 3}'), { return: {}, id: 3 });
  t.equal(parseMessage(''), undefined);
  t.equal(parseMessage('[1]'), undefined);
  t.equal(parseMessage('{oops'), undefined);
});

t.test('send-key arguments use qcodes', async (t) => {
  t.same(sendKeyArgs(['ctrl', 'alt', 'f12']), { keys: [{ type: 'qcode', data: 'ctrl' }, { type: 'qcode', data: 'alt' }, { type: 'qcode', data: 'f12' }] });
  t.same(sendKeyArgs(['a'], 50), { keys: [{ type: 'qcode', data: 'a' }], 'hold-time': 50 });
  t.throws(() => sendKeyArgs([]), TsxHvError);
  t.throws(() => sendKeyArgs(['Ctrl']), /invalid QEMU key names/);
});

// The real thing: QEMU with no machine at all starts in milliseconds and speaks QMP.
t.test('talks to a real QEMU: capabilities, query-status, send-key, an error, quit', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qmp-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const sock = join(dir, 'qmp.sock');
  const qemu = spawn('qemu-system-x86_64', ['-machine', 'pc', '-display', 'none', '-S', '-nodefaults', '-qmp', `unix:${sock},server=on,wait=on`], { stdio: 'ignore' });
  t.teardown(() => qemu.kill('SIGKILL'));
  const exited = new Promise<number | null>((r) => qemu.once('exit', (c) => r(c)));
  let client: QmpClient | undefined;
  for (let i = 0; i < 200 && !client; i++) {
    client = await QmpClient.connect(sock, 5000).catch(async () => {
      await new Promise((r) => setTimeout(r, 25));
      return undefined;
    });
  }
  t.ok(client, 'connected and negotiated');
  t.match(await client!.execute('query-status'), { status: 'prelaunch' });
  t.same(await client!.sendKeys(['ctrl', 'alt', 'f12']), {});
  await t.rejects(client!.execute('no-such-command'), QmpError);
  await client!.execute('quit');
  t.equal(await exited, 0);
  t.ok(client!.events.some((e) => e.event === 'SHUTDOWN'), 'the SHUTDOWN event was collected');
  await new Promise((r) => setTimeout(r, 50));
  await t.rejects(client!.execute('query-status'), /QMP connection closed/);
  client!.close();
});

t.test('a server that never greets times out; a missing socket fails', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qmp-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(join(dir, 's.sock'), () => r()));
  t.teardown(() => silent.close());
  await t.rejects(QmpClient.connect(join(dir, 's.sock'), 100), TimeoutError);
  await t.rejects(QmpClient.connect(join(dir, 'missing.sock'), 100), /ENOENT|closed/);
});
