import t from 'tap';
import { GuestError, HOTKEYS, Machine, hotkeyPlan, judgeSleep, parseHvStatus, type SleepCheck } from '../../../src/scenario/machine.js';
import { ChildEngine } from './fixtures/child-engine.js';

async function machine(t: Tap.Test): Promise<{ m: Machine<ChildEngine>; e: ChildEngine }> {
  const e = new ChildEngine();
  t.teardown(() => e.kill());
  await e.waitFor('tsx-hv-agent: ready', 30_000);
  return { m: new Machine(e, { bootMs: 1 }), e };
}

t.test('status replies parse into a speed and the armed flag', async (t) => {
  t.same(parseHvStatus('speed=60/1 armed=1'), { speed: { p: 60, q: 1 }, armed: true });
  t.same(parseHvStatus('speed=2/20 armed=0'), { speed: { p: 1, q: 10 }, armed: false });
  t.throws(() => parseHvStatus('no-hypervisor'), GuestError);
  t.throws(() => parseHvStatus('speed=1/0 armed=1'), /not speed=P\/Q/);
});

t.test('hotkey plans follow the default bindings', async (t) => {
  t.same(hotkeyPlan({ p: 1, q: 1 }, { p: 10, q: 1 }), ['toggle']);
  t.same(hotkeyPlan({ p: 10, q: 1 }, { p: 1, q: 1 }), ['toggle']);
  t.same(hotkeyPlan({ p: 1, q: 1 }, { p: 3, q: 1 }), ['faster', 'faster']);
  t.same(hotkeyPlan({ p: 12, q: 1 }, { p: 10, q: 1 }), ['slower', 'slower']);
  t.same(hotkeyPlan({ p: 5, q: 1 }, { p: 5, q: 1 }), []);
  t.throws(() => hotkeyPlan({ p: 1, q: 2 }, { p: 1, q: 1 }), /only step between whole speeds/);
  t.throws(() => hotkeyPlan({ p: 1, q: 1 }, { p: 5, q: 2 }), GuestError);
  t.same(HOTKEYS.toggle, ['ctrl', 'alt', 'f12']);
});

const check = (over: Partial<SleepCheck>): SleepCheck => ({ seconds: 4, speed: 10, hostSeconds: 4.1, overheadSeconds: 0.1, guestSeconds: 41, scaledSeconds: 0.4, behaved: 'unchanged', ...over });

t.test('sleep checks: report is informational and names the limitation only when it shows', async (t) => {
  const r = judgeSleep(check({}), 'report', 15);
  t.equal(r.status, 'info');
  t.match(r.message, /sleep 4 at 10x took 4\.100 s of host time \(scaled would be 0\.400 s; sleeps ran at 0\.98x\); the guest clock advanced 41\.000 s — sleeps did not shrink: guest timers fired in real time \(known limitation\)$/);
  t.notMatch(judgeSleep(check({ hostSeconds: 0.45, behaved: 'scaled' }), 'report', 15).message, /limitation/);
  // Under Bochs the duration is the machine's own time, and the message says so.
  t.match(judgeSleep(check({ hostSeconds: 0.41, timeBase: 'machine' }), 'scaled', 15).message, /^sleep 4 at 10x took 0\.410 s of machine time \(/);
  t.equal(judgeSleep(check({}), 'unchanged', 15).status, 'pass');
  t.equal(judgeSleep(check({}), 'scaled', 15).status, 'fail');
  t.match(judgeSleep(check({}), 'scaled', 15).message, /expected scaled \(0\.400 s ±15%\), off by 925\.0%/);
  t.equal(judgeSleep(check({ hostSeconds: 0.41 }), 'scaled', 15).status, 'pass');
});

t.test("on an engine with its own time (Bochs) speeds and sleeps are timed by the machine's MARK lines", async (t) => {
  const e = new ChildEngine(0, 'bochs');
  t.teardown(() => e.kill());
  await e.waitFor('tsx-hv-agent: ready', 30_000);
  const m = new Machine(e, { bootMs: 1 });
  await m.arm();
  await m.speed(10);
  t.equal(await m.tscHz(), 1e9);
  const meas = await m.measure({ durationMs: 300, tolerancePct: 5, minR2: 0.5 });
  t.ok(meas.passed, meas.problems.join());
  t.ok(e.hvLog.filter((l) => / mark \d+ cpu 0 real /.test(l)).length >= meas.samples, 'every sample was a marked clock reading');
  const sl = await m.sleepCheck(0.3);
  t.equal(sl.behaved, 'unchanged', 'a real sleep takes real (machine) time');
  t.ok(sl.hostSeconds > 0.2 && sl.hostSeconds < 2, `timed in machine time: ${sl.hostSeconds}`);
  t.equal(sl.timeBase, 'machine');
  const silent = new Machine({ hvLog: [], engine: 'bochs', waitFor: (p, ms) => e.waitFor(p, ms), agent: (c, ms) => e.agent(c, ms), sendKeys: (k) => e.sendKeys(k), powerOff: () => e.powerOff(), kill: () => e.kill(), control: async () => 'ok {"speed":"1/1"}' });
  await t.rejects(silent.tscHz(), /no tsc_hz/);
  await m.powerOff();
});

t.test('a Machine drives a real child-process guest', async (t) => {
  const { m, e } = await machine(t);
  t.same(m.info, { bootMs: 1 });
  t.equal(await m.waitFor('Linux version'), '[    0.000000] Linux version 6.1.0 (simulated)');
  t.equal(await m.waitFor(/simulated/, { on: 'hypervisor' }), '# tsx-hv: simulated');
  await t.rejects(m.waitFor('never', { on: 'hypervisor', timeoutMs: 150 }), /did not log never within 0\.15 s/);

  // Before arming a speed request is held: accepted, the clock stays at 1x.
  t.same(await m.speed(5), { speed: { p: 5, q: 1 }, armed: false });
  t.match(await m.arm(), /^ok/);
  t.match(await m.arm('hypercall'), /armed=1/);
  t.same(m.requested, { p: 5, q: 1 });
  t.same(await m.speed('1/2', { via: 'hypercall' }), { speed: { p: 1, q: 2 }, armed: true });
  t.same(await m.speed({ p: 1, q: 1 }), { speed: { p: 1, q: 1 }, armed: true });
  t.same(await m.speed(3, { via: 'hotkey' }), { speed: { p: 3, q: 1 }, armed: true });
  t.same(e.keysSent, [HOTKEYS.faster, HOTKEYS.faster]);

  const meas = await m.measure({ durationMs: 300, tolerancePct: 5, minR2: 0.5 });
  t.ok(meas.passed, meas.problems.join());
  const st = await m.hotkey('toggle', { times: 2, gapMs: 1 });
  t.same(st.speed, { p: 10, q: 1 });
  t.same(m.requested, { p: 10, q: 1 });
  t.ok(m.clockHistory.reads >= meas.samples + 2);
  t.equal(m.clockHistory.backwardsNs, 0);

  t.same(await m.exec('echo out; echo err >&2; exit 4'), { exitCode: 4, output: 'out\nerr\n' });
  const sl = await m.sleepCheck(0.3);
  t.equal(sl.speed, 10);
  t.equal(sl.behaved, 'unchanged', 'a real sleep takes real time');
  t.ok(sl.guestSeconds > 2.5, `the guest clock ran 10x across it (${sl.guestSeconds})`);
  await t.rejects(m.sleepCheck(-1), /sleep -1 exited with/);
  await m.powerOff();
  t.notOk(e.alive);
});

t.test("the sleep check asks the agent to sleep itself where it can (no process started); older agents fall back to exec", async (t) => {
  const e = new ChildEngine(0, undefined, { SIM_AGENT_SLEEP: '1' });
  t.teardown(() => e.kill());
  await e.waitFor('tsx-hv-agent: ready', 30_000);
  const m = new Machine(e, { bootMs: 1 });
  await m.arm();
  await m.speed(10);
  const sl = await m.sleepCheck(0.3);
  t.equal(sl.how, 'agent');
  t.equal(sl.behaved, 'unchanged', 'the simulated guest sleeps in real time');
  t.ok(sl.guestSeconds > 2.5 && sl.guestSeconds < 10, `the agent measured ${sl.guestSeconds} guest seconds (10x of 0.3 s)`);
  t.ok(sl.overheadSeconds < 1, `an empty agent sleep costs a round trip (${sl.overheadSeconds} s)`);
  const old = new Machine(new ChildEngine(0), { bootMs: 1 });
  t.teardown(() => old.kill());
  await old.waitFor('tsx-hv-agent: ready');
  t.equal((await old.sleepCheck(0.1)).how, 'exec', 'unknown-command: sleep runs through exec');
  await m.powerOff();
});

t.test('a refused control command is an error naming the reply', async (t) => {
  const { m } = await machine(t);
  const bogus = new Machine({ ...m.engine, hvLog: [], waitFor: m.engine.waitFor.bind(m.engine), agent: m.engine.agent.bind(m.engine), sendKeys: m.engine.sendKeys.bind(m.engine), powerOff: m.engine.powerOff.bind(m.engine), kill: m.engine.kill.bind(m.engine), control: async () => 'err EINVAL no' });
  await t.rejects(bogus.arm(), /hypervisor refused "arm": err EINVAL no/);
  await t.rejects(bogus.speed(2), /refused "speed 2"/);
  await m.kill();
});

t.test('a hypervisor that reports a different speed than asked is an error', async (t) => {
  const { m, e } = await machine(t);
  await m.arm();
  const liar = new Machine({ hvLog: [], waitFor: (p, ms) => e.waitFor(p, ms), agent: (c, ms) => e.agent(c === 'status' ? 'status' : c, ms).then((r) => (c === 'status' ? r.replace(/speed=\d+\/\d+/, 'speed=1/1') : r)), sendKeys: (k) => e.sendKeys(k), powerOff: () => e.powerOff(), kill: () => e.kill(), control: (l, ms) => e.control(l, ms) });
  await t.rejects(liar.speed(4, { timeoutMs: 100 }), /asked for 4x \(control\), the hypervisor reports 1x/);
  const st = await liar.hotkey('faster', { expect: { p: 9, q: 1 }, settleMs: 100 });
  t.same(st.speed, { p: 1, q: 1 }, 'hotkey() reports what it found; the caller judges');
});

t.test('bad agent replies are typed errors', async (t) => {
  const { e } = await machine(t);
  const odd = new Machine({ hvLog: [], waitFor: (p, ms) => e.waitFor(p, ms), agent: async () => 'nonsense', sendKeys: (k) => e.sendKeys(k), powerOff: () => e.powerOff(), kill: () => e.kill(), control: (l, ms) => e.control(l, ms) });
  await t.rejects(odd.exec('true'), /malformed exec reply|exit/);
  await t.rejects(odd.clock(), /mono/);
  await t.rejects(odd.status(), GuestError);
});

t.test("a slower engine's timing stretches every request limit", async (t) => {
  const limits: Array<[string, number]> = [];
  const engine = {
    timing: { scale: 4 },
    hvLog: [],
    waitFor: async () => '',
    agent: async (command: string, ms: number) => {
      limits.push([command.split(' ')[0]!, ms]);
      return command === 'status' ? 'speed=1/1 armed=1' : 'exit=0 len=0 dropped=0 out=';
    },
    control: async (line: string, ms: number) => {
      limits.push([line, ms]);
      return 'ok';
    },
    sendKeys: async () => undefined,
    powerOff: async () => undefined,
    kill: async () => undefined,
  };
  const m = new Machine(engine);
  await m.arm();
  await m.status();
  await m.exec('true');
  t.same(limits, [['arm', 80_000], ['status', 80_000], ['exec', 240_000]]);
  limits.length = 0;
  await new Machine({ ...engine, timing: undefined }).status();
  t.same(limits, [['status', 20_000]], 'QEMU (no timing): 20 s');
});
