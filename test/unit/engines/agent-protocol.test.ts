import t from 'tap';
import { AgentError, execRequest, formatRequest, parseClock, parseExec, parseReady, parseReply } from '../../../src/engines/agent-protocol.js';
import { TsxHvError } from '../../../src/errors.js';

t.test('requests are "@id command\\n"; ids and commands are checked', async (t) => {
  t.equal(formatRequest('h1', 'clock'), '@h1 clock\n');
  t.throws(() => formatRequest('bad id', 'clock'), RangeError);
  t.throws(() => formatRequest('x'.repeat(33), 'clock'), RangeError);
  t.throws(() => formatRequest('h1', 'a\nb'), RangeError);
  t.throws(() => formatRequest('h1', '  '), RangeError);
});

t.test('replies are matched by shape; kernel noise is not a reply', async (t) => {
  t.same(parseReply('@h1 ok mono=1 real=2 tsc=3'), { id: 'h1', ok: true, payload: 'mono=1 real=2 tsc=3' });
  t.same(parseReply('@h2 err no-hypervisor\r'), { id: 'h2', ok: false, payload: 'no-hypervisor' });
  t.same(parseReply('@h3 ok'), { id: 'h3', ok: true, payload: '' });
  t.equal(parseReply('[    5.1] random: crng init done'), undefined);
  t.equal(parseReply('@h1 maybe'), undefined);
  t.equal(parseReply('x@h1 ok'), undefined);
});

t.test('the ready line carries a JSON document, possibly after other output', async (t) => {
  const doc = parseReady('\u001b[0mtsx-hv-agent: ready {"version":1,"hypervisor":"tsx-hv-vtime","vendor":"AuthenticAMD","clocksource":"tsc","uptime_ms":3100}');
  t.same(doc, { version: 1, hypervisor: 'tsx-hv-vtime', vendor: 'AuthenticAMD', clocksource: 'tsc', uptime_ms: 3100 });
  t.equal(parseReady('tsx-hv-agent: ready {broken'), undefined);
  t.equal(parseReady('tsx-hv-agent: ready "x"'), undefined);
  t.equal(parseReady('tsx-hv-agent: ready null'), undefined);
  t.equal(parseReady('nothing here'), undefined);
});

t.test('clock replies parse into bigints', async (t) => {
  t.same(parseClock('mono=18446744073709551615 real=2 tsc=3'), { monoNs: 18446744073709551615n, realNs: 2n, tsc: 3n });
  t.same(parseClock('mono=1 real=2 tsc=3 mark=17'), { monoNs: 1n, realNs: 2n, tsc: 3n, mark: 17n });
  t.throws(() => parseClock('mono=1 real=2 tsc=3 mark=x'), /mark=x is not an unsigned integer/);
  t.throws(() => parseClock('mono=1 real=2'), TsxHvError);
  t.throws(() => parseClock('mono=-1 real=2 tsc=3'), /not an unsigned integer/);
});

t.test('exec round-trips through base64', async (t) => {
  t.equal(execRequest('echo hi'), `exec ${Buffer.from('echo hi').toString('base64')}`);
  t.same(parseExec(`exit=3 out=${Buffer.from('tsc\n').toString('base64')}`), { exitCode: 3, output: 'tsc\n' });
  t.same(parseExec('exit=0 out='), { exitCode: 0, output: '' });
  t.same(parseExec(`exit=0 len=4 out=${Buffer.from('tsc\n').toString('base64')}`), { exitCode: 0, output: 'tsc\n' });
  t.same(parseExec(`exit=0 len=4 dropped=0 out=${Buffer.from('tsc\n').toString('base64')}`), { exitCode: 0, output: 'tsc\n' });
  t.same(parseExec(`exit=1 len=4 dropped=70000 out=${Buffer.from('tsc\n').toString('base64')}`), { exitCode: 1, output: 'tsc\n', droppedBytes: 70000 });
  const long = Buffer.from('0123456789abcdef'.repeat(8)).toString('base64');
  // A kernel message written into the reply line: the out= field ends at its first space.
  t.throws(() => parseExec(`exit=0 len=128 out=${long.slice(0, 40)} [ 12.345678] rcu: INFO: rcu_preempt detected stalls`), { code: 'AGENT_GARBLED', message: /30 of 128 bytes/ });
  t.throws(() => parseExec('exit=0 len=x out='), /malformed exec reply/);
  t.throws(() => parseExec('exit=x out='), /malformed exec reply/);
  t.throws(() => parseExec('exit=0 out=***'), /malformed/);
  t.throws(() => parseExec('out='), /no exit=/);
});

t.test('AgentError names the command and the reason', async (t) => {
  const e = new AgentError('speed', 'no-hypervisor');
  t.equal(e.code, 'AGENT_ERROR');
  t.match(e.message, /"speed": no-hypervisor/);
});
