/**
 * Intel VT-x under Bochs 2.7 (issue 14): the same hypervisor, its VMX backend, on an emulated
 * Intel CPU with two cores. One boot serves every check:
 * - Linux boots to the agent under the VMX backend; the hypervisor reports TSC scaling.
 * - The zero-exit clock: while the guest reads CLOCK_MONOTONIC in a loop (smp_monotonic, through
 *   the vDSO's RDTSCP) the RDTSC/RDTSCP exits stay at zero with hardware scaling, and are many
 *   with `tsc-scaling off`; both paths measure the same speed.
 * - 1x, 10x, 60x and 1/2x measured within 0.5%: the guest's CLOCK_MONOTONIC against the
 *   machine's own time. Bochs's time is not the host's (its `slowdown` sync lets it run up to
 *   1.5 times faster to catch up, and it falls behind while busy), so each agent `clock` sample is
 *   paired with the machine's real TSC by the MARK hypercall the agent makes right after reading
 *   its clocks (the hypervisor logs it on its port; docs/hypercall.md), at the rate the
 *   hypervisor measured against the PIT.
 * - 200 random speed switches while both CPUs read the clock: no backward step on either CPU or
 *   across them.
 * - Hypercalls (the agent's status/speed) and the control port; no panic.
 * - The engine itself (formerly test/e2e/run/bochs.test.ts, folded in for the CI budget): the
 *   console is a TCP port, Bochs' RFB display is found in its log, the hypervisor's hotkey
 *   arrives through RFB, the agent runs a command, and the agent's poweroff ends Bochs cleanly
 *   with its own log kept. (The baseline entry chosen by typing into GRUB's menu is booted by
 *   hostile-vmx.test.ts.)
 * Figures (boot time, rates, exits per second) are printed; what the issue specifies is asserted.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { execRequest, parseExec } from '../../../src/engines/agent-protocol.js';
import { startMachine } from '../../../src/engines/start.js';
import { guestExec, hvStatus, measureMachineSpeed, panics, standardMedia, withHvLogOnFailure, type HvStatusReply } from './fixtures.js';
import { guestOk, installSmpPrograms, monotonicUnderSwitches } from './smp-guest.js';

const TOLERANCE_PCT = 0.5;
/** Speeds of the random switches: none below 1/2 here. At 200 million instructions per machine
 * second a busy two-CPU Bochs runs its time at about a fifth of host time, so at 1/10x a guest
 * second lasts close to a host minute and every timer-driven step of the agent's reply with it. */
const BOCHS_SWITCH_SPEEDS = ['1/2', '1', '3/2', '2', '7/3', '10', '25/2', '33', '60'];
const CPUS = 2;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const media = await standardMedia();
const m = await startMachine({ engine: 'bochs', cpuVendor: 'intel', media, cpus: CPUS });
t.teardown(() => m.kill());
const { ready, bootMs } = await withHvLogOnFailure(t, m, () => m.waitForReady(1_200_000));
t.comment(`Bochs (corei7_skylake_x, ${CPUS} CPUs) boot to agent ready: ${(bootMs / 1000).toFixed(0)} s`);

/** The guest's clock rate against the machine's time (MARK hypercalls). */
const measure = measureMachineSpeed;

function rdtscExits(s: HvStatusReply): number {
  return (s.cpus ?? []).reduce((n, c) => n + (c.rdtsc ?? 0) + (c.rdtscp ?? 0), 0);
}

t.test('Linux runs under the VT-x backend on every CPU', async (t) => {
  t.equal(ready.hypervisor, 'tsx-hv-vtime', 'the guest sees the tsx-hv signature');
  t.equal(ready.vendor, 'GenuineIntel');
  const log = m.hvLog.join('\n');
  t.match(log, /VT-x: cpu 0 in VMX root operation/, 'VMX backend');
  t.match(log, /VT-x: TSC scaling offered/, 'the CPU model offers TSC scaling');
  t.match(log, /CPUID 0x15\/0x16 announce a \d+ kHz TSC, the PIT measured \d+ kHz/, "the guest is told the TSC's measured rate");
  t.equal((await guestOk(m, 'nproc')).trim(), String(CPUS), `${CPUS} CPUs online`);
  const s = await hvStatus(m);
  t.same(s.cpus?.map((c) => c.state), Array(CPUS).fill('running'));
  t.same(panics(m), []);
});

t.test('the Bochs engine: console, RFB hotkey, agent exec', async (t) => {
  t.match(m.paths.console, /^127\.0\.0\.1:\d+$/, 'the console is a TCP port on localhost');
  t.match(m.paths.rfb, /^127\.0\.0\.1:59\d\d$/, "Bochs' RFB display was found in its log");
  t.equal(m.paths.qmp, undefined, 'no QMP under Bochs');
  const status = await m.control('status', 120_000);
  t.match(status, /^ok \{/, 'status on the control port');
  const doc = JSON.parse(status.slice(3)) as { speed: string; exits: Record<string, number> };
  t.equal(doc.speed, '1/1');
  t.ok(doc.exits.cpuid! > 0, `CPUID exits counted (${doc.exits.cpuid})`);
  const r = parseExec(await m.agent(execRequest('uname -r'), 120_000));
  t.equal(r.exitCode, 0);
  t.match(r.output, /^6\.\d+\.\d+-\S+\n$/, `uname -r: ${r.output.trim()}`);
  for (const [from, to] of [['1/1', '10/1'], ['10/1', '1/1']]) {
    const mark = m.hvLog.length;
    const t1 = performance.now();
    await m.sendKeys(['ctrl', 'alt', 'f12']);
    const want = `# tsx-hv: hotkey toggle: ${from} -> ${to}`;
    let seen = false;
    for (const end = Date.now() + 60_000; !seen && Date.now() < end; await sleep(250)) seen = m.hvLog.slice(mark).some((l) => l.startsWith(want));
    t.ok(seen, `Ctrl+Alt+F12 through RFB reached the hypervisor (${from} -> ${to}): ${m.hvLog.slice(mark).join('; ')}`);
    t.comment(`hotkey to hypervisor log: ${((performance.now() - t1) / 1000).toFixed(2)} s`);
  }
});

t.test('hypercalls and the control port', async (t) => {
  t.match(await m.control('arm'), /^ok armed/);
  t.match(await m.agent('status', 120_000), /speed=1\/1 armed=1/, "the agent's status hypercall");
  t.match(await m.agent('speed 2', 120_000), /speed=2\/1/, "the agent's speed hypercall");
  t.match(await m.control('speed 1'), /^ok speed 1\/1/);
  t.match(await m.control('bogus'), /^err UNKNOWN/);
  t.match(await m.control('tsc-scaling maybe'), /^err USAGE/);
});

t.test('speeds measured against the machine time within 0.5%', async (t) => {
  t.match(await m.control('arm'), /^ok armed/);
  for (const [request, want] of [['1', 1], ['10', 10], ['60', 60], ['1/2', 0.5]] as const) {
    t.match(await m.control(`speed ${request}`), /^ok speed/);
    await sleep(2000);
    const r = await measure(m, want >= 10 ? 20 : 30);
    const errPct = ((r.speed - want) / want) * 100;
    t.comment(`speed ${request}: guest clock ${r.speed.toFixed(5)}x over ${r.machineSeconds.toFixed(1)} s of machine time (${errPct.toFixed(3)}%)`);
    t.ok(Math.abs(errPct) < TOLERANCE_PCT, `speed ${request} within ${TOLERANCE_PCT}%: ${r.speed.toFixed(5)}`);
  }
  const s = await hvStatus(m);
  t.same(s.cpus?.map((c) => c.tsc), Array(CPUS).fill('scaled'), 'every CPU reads the TSC through hardware scaling');
});

t.test('the zero-exit clock: no RDTSC exits with scaling, many with trapping, the same speed', async (t) => {
  t.match(await m.control('arm'), /^ok armed/);
  await installSmpPrograms(m);
  t.match(await m.control('speed 10'), /^ok speed/);
  const rates: Record<string, { exitsPerS: number; speed: number; timerPerS: number }> = {};
  for (const mode of ['on', 'off'] as const) {
    t.match(await m.control(`tsc-scaling ${mode}`), new RegExp(`^ok tsc-scaling ${mode}`));
    await guestOk(m, `sh -c '/tmp/smp_monotonic 4000000 > /tmp/loop.out 2>&1' > /dev/null 2>&1 < /dev/null &`);
    await sleep(3000);
    const sent = performance.now();
    const s0 = await hvStatus(m);
    t.comment(`status reply while both CPUs read the clock: ${((performance.now() - sent) / 1000).toFixed(1)} s`);
    const r = await measure(m, 20);
    const s1 = await hvStatus(m);
    // busybox has no pkill; the loop must be gone before the next one starts.
    await guestOk(m, 'kill $(pidof smp_monotonic) 2>/dev/null; sleep 1; ! pidof smp_monotonic >/dev/null');
    const realS = (Number(s1.real_tsc) - Number(s0.real_tsc)) / (s1.tsc_hz as number);
    rates[mode] = { exitsPerS: (rdtscExits(s1) - rdtscExits(s0)) / realS, speed: r.speed, timerPerS: ((s1.exits.timer ?? 0) - (s0.exits.timer ?? 0)) / realS };
    t.comment(`tsc-scaling ${mode}: ${rates[mode]!.exitsPerS.toFixed(0)} RDTSC/RDTSCP exits per machine second, guest clock ${r.speed.toFixed(5)}x; paths ${s1.cpus?.map((c) => c.tsc).join(',')}; ${rates[mode]!.timerPerS.toFixed(1)} preemption-timer exits per machine second`);
  }
  t.equal(rates.on!.exitsPerS, 0, 'no RDTSC/RDTSCP exit with hardware scaling');
  // Bochs's Intel models have the VMX-preemption timer: the hypervisor takes a CPU back after
  // 20 ms of machine time without an exit (at 10x the guest's own timer exits come sooner).
  t.match(m.hvLog.join('\n'), /VT-x: preemption timer/, 'the CPU offers the VMX-preemption timer');
  t.ok(rates.off!.exitsPerS > 100, `trapping: ${rates.off!.exitsPerS.toFixed(0)} exits/s`);
  for (const mode of ['on', 'off']) t.ok(Math.abs(rates[mode]!.speed / 10 - 1) < TOLERANCE_PCT / 100, `tsc-scaling ${mode}: 10x within ${TOLERANCE_PCT}%`);
  t.match(await m.control('tsc-scaling on'), /^ok/);
});

t.test('the control port while both CPUs run at 1/10x without exits (the preemption timer)', async (t) => {
  t.match(await m.control('arm'), /^ok armed/);
  if ((await guestExec(m, 'test -x /tmp/smp_monotonic')).exit !== 0) await installSmpPrograms(m);
  t.match(await m.control('tsc-scaling on'), /^ok/);
  t.match(await m.control('speed 1/10', 120_000), /^ok speed 1\/10/);
  await guestOk(m, `sh -c '/tmp/smp_monotonic 4000000 > /tmp/loop.out 2>&1' > /dev/null 2>&1 < /dev/null &`, 120_000);
  await sleep(3000);
  const ms: number[] = [];
  for (let i = 0; i < 5; i++) {
    const sent = performance.now();
    const s = await hvStatus(m);
    ms.push(performance.now() - sent);
    t.equal(s.speed, '1/10');
    await sleep(500);
  }
  t.match(await m.control('speed 1', 120_000), /^ok speed 1\/1/);
  await guestOk(m, 'kill $(pidof smp_monotonic) 2>/dev/null; sleep 1; ! pidof smp_monotonic >/dev/null', 300_000);
  ms.sort((a, b) => a - b);
  // Printed, not asserted (host time under Bochs is not the machine's): before the preemption
  // timer a reply here took 15-30 s of host time; docs/hypervisor.md has the figures.
  t.comment(`status round trips at 1/10x, both CPUs busy: median ${ms[2]!.toFixed(0)} ms, max ${ms[4]!.toFixed(0)} ms of host time`);
  t.same(panics(m), [], 'no panic');
});

t.test('200 random speed switches (SET_SPEED hypercalls): CLOCK_MONOTONIC never steps back on or across the CPUs', async (t) => {
  // Each subtest stands alone (tap --grep runs one): armed, programs installed.
  t.match(await m.control('arm'), /^ok armed/);
  if ((await guestExec(m, 'test -x /tmp/smp_monotonic')).exit !== 0) await installSmpPrograms(m);
  // Through the agent's hypercall: under Bochs the control port is read only at the guest's
  // exits, and with the zero-exit clock two busy CPUs exit rarely (at 1/10x a reply took
  // 15-30 s of host time; docs/hypervisor.md), which would stretch 200 switches past an hour.
  const r = await monotonicUnderSwitches(m, t, { reads: 400_000, switches: 200, expectedSeconds: 120, seed: 1414, controlTimeoutMs: 120_000, via: 'hypercall', speeds: BOCHS_SWITCH_SPEEDS });
  t.comment(`smp_monotonic: ${r.line}; ${r.hostSeconds.toFixed(0)} s of host time, ${r.switches} switches, slowest control reply ${(r.slowestSwitchMs / 1000).toFixed(1)} s`);
  t.equal(r.switches, 200);
  t.equal(r.exit, 0, 'smp_monotonic exit 0 (no backward step, threads stayed on their CPUs)');
  t.match(r.line, /\bbackwards=0\b/);
  t.same(panics(m), [], 'no panic');
  t.notMatch(m.hvLog.join('\n'), /did not leave the guest within 100 ms/, 'every kicked CPU left the guest in time');
});

t.test('power-off', async (t) => {
  const off = await m.powerOff();
  t.same(off, { code: 0, signal: null, method: 'agent' }, "the agent's poweroff ended Bochs (ACPI soft power-off, read as exit 0)");
  t.match(await readFile(m.paths.consoleLog, 'utf8'), /tsx-hv-agent: ready \{/, 'the console log was written');
  t.match(await readFile(m.paths.hvLog, 'utf8'), /# tsx-hv: guest starting/, 'the hypervisor log was written');
  t.match(await readFile(m.paths.emulatorLog!, 'utf8'), /ACPI control: soft power off/, "Bochs' own log was kept");
});
