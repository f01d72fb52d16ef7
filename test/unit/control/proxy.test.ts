import t from 'tap';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlExchange } from '../../../src/control/client.js';
import { errorReply, noHypervisor, startControlProxy } from '../../../src/control/proxy.js';
import { TimeoutError, TsxHvError } from '../../../src/errors.js';

t.test('relays each line in order and answers host-side failures in protocol shape', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'proxy-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const seen: string[] = [];
  const proxy = await startControlProxy(join(dir, 'c.sock'), async (line) => {
    seen.push(line);
    if (line === 'slow') return new Promise((r) => setTimeout(() => r('ok slow'), 30));
    if (line === 'timeout') throw new TimeoutError('no answer');
    if (line === 'multi') return 'ok a\nb';
    return `ok ${line}`;
  });
  const replies = await controlExchange(proxy.path, ['slow', 'status', 'timeout', 'multi']);
  t.same(replies, ['ok slow', 'ok status', 'err timeout no answer', 'ok a b']);
  t.same(seen, ['slow', 'status', 'timeout', 'multi']);
  await proxy.close();
  await t.rejects(stat(proxy.path));
});

t.test('error replies name the kind of failure', async (t) => {
  t.equal(errorReply(new TsxHvError('CONTROL_PROTOCOL', 'bad line')), 'err bad-request bad line');
  t.equal(errorReply(new TsxHvError('ENGINE_EXITED', 'gone')), 'err machine-gone gone');
  t.equal(errorReply(new Error('x\ny')), 'err relay-failed x y');
  t.equal(errorReply('weird'), 'err relay-failed weird');
  t.equal(await noHypervisor('status'), 'err no-hypervisor the machine was started with --no-hypervisor');
});
