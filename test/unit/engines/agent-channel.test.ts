import t from 'tap';
import { AgentChannel } from '../../../src/engines/agent-channel.js';
import { AgentError } from '../../../src/engines/agent-protocol.js';
import { TimeoutError, TsxHvError } from '../../../src/errors.js';

t.test('replies resolve their own request, whatever the order and the noise', async (t) => {
  const sent: string[] = [];
  const ch = new AgentChannel((s) => sent.push(s));
  const a = ch.request('clock', 1000);
  const b = ch.request('status', 1000);
  t.same(sent, ['\u001e@h1 clock\n', '\u001e@h2 status\n'], 'each request starts with the record separator');
  ch.line('[   3.2] some kernel message');
  ch.line('@h9 ok stray');
  ch.line('@h2 err no-hypervisor');
  ch.line('@h1 ok mono=1 real=2 tsc=3');
  t.equal(await a, 'mono=1 real=2 tsc=3');
  await t.rejects(b, AgentError);
});

t.test('a request times out, and a closed channel fails what is pending', async (t) => {
  const ch = new AgentChannel(() => undefined);
  await t.rejects(ch.request('clock', 10), TimeoutError);
  const p = ch.request('clock', 10_000);
  ch.close(new TsxHvError('GONE', 'machine gone'));
  await t.rejects(p, /machine gone/);
});
