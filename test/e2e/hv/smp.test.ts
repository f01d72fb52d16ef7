/**
 * Every CPU under the hypervisor, on one virtual timeline (issue 12), on a 4-CPU guest (-smp 4;
 * smp-2.test.ts boots 2 CPUs and ends with the hostile APIC writes). One boot:
 * 1. Linux brings up all CPUs, and each runs under the hypervisor: a program pinned to each CPU
 *    in turn reads the CPUID 0x40000000 signature "tsx-hv-vtime"; `status` shows every CPU running.
 * 2. Each CPU's clock at 60x (10 s each), and at 1x and 10x on two of them (8 s each), within
 *    0.1%: the agent itself is pinned to the CPU (taskset -p), so its clock reads happen there;
 *    measured against the host. On this loaded 2-core host 6 s steps reached 0.01-0.06% and once
 *    0.105%: round-trip jitter divided by the step length, hence the longer steps.
 * 3. Every AP offline and online twice at 10x, with the guest alive and consistent afterwards.
 *    At 10x, not 60x: with 4 vCPUs at 60x, Linux's own timeouts run 60 times faster while the
 *    LAPIC timer (not yet virtualised, a separate issue) counts real time, so RCU stalls and
 *    bringing a CPU back online hangs.
 * 4. Cross-CPU monotonicity: one thread per CPU reads CLOCK_MONOTONIC against a shared maximum
 *    while the host sends 200 random speed switches between 1/10 and 100. The issue asks for
 *    10^7 reads; under TCG a read is a trapped RDTSCP (100-300 us of host time), so CI runs what
 *    fits in about a minute and `npm run soak:smp` runs 10^7 (TSX_HV_SMP_READS sets the count).
 * 4 runs after 3 because QEMU's multi-threaded TCG race (raceGuard, smp-guest.ts) is likeliest
 *    under the random switches.
 * 5. Last, because it may stop the machine: an SMI IPI from CPU 0 to a running CPU 1 (the
 *    hypervisor passes SMI to the real APIC unchanged). It must not panic the hypervisor; whether
 *    the guest survives is only reported (since 033551f the hypervisor survives, the guest stops
 *    answering).
 */
import t, { type Test } from 'tap';
import { startMachine } from '../../../src/engines/start.js';
import { guestExec, hvStatus, mediaWithAppend, panics, READY_TIMEOUT_MS } from './fixtures.js';
import { MULTI_THREADED_TCG, raceGuard, resetRecorder,
  cpuStates,
  installSmpPrograms,
  measureOnCpu,
  monotonicReadRate,
  monotonicUnderSwitches,
  offlineOnlineEveryAp,
  onlineCpus,
  pinAgent,
  probeEveryCpu,
  reportSpeeds,
  guestOk,
  type CpuSpeed,
  printable,
} from './smp-guest.js';

const CPUS = 4;
/** Host seconds of clock reads the CI run of the monotonicity check aims for. */
const MONOTONIC_CI_SECONDS = 60;
const fileStart = performance.now();

// iomem=relaxed lets the last case map the local APIC through /dev/mem (Debian's kernel has
// CONFIG_IO_STRICT_DEVMEM); smp-2.test.ts boots the same media.
const resets = resetRecorder('smp');
const m = await startMachine({ media: await mediaWithAppend('iomem=relaxed'), hypervisor: true, cpus: CPUS, extraArgs: [...MULTI_THREADED_TCG, ...resets.args] });
t.teardown(() => m.kill());
const consoleTail: string[] = [];
m.console.on('line', (line: string) => {
  consoleTail.push(printable(line));
  if (consoleTail.length > 40) consoleTail.shift();
});
const { bootMs } = await m.waitForReady(READY_TIMEOUT_MS).catch(async (err: Error) => {
  // The evidence for a boot that never reached the agent: how QEMU ended, both logs' tails.
  const exit = m.running ? 'still running' : JSON.stringify(await m.exited);
  throw new Error(`${err.message}; QEMU ${exit}\nhypervisor log tail:\n${m.hvLog.slice(-15).join('\n')}\nconsole tail:\n${consoleTail.join('\n')}`);
});
t.comment(`-smp ${CPUS}: booted to the agent in ${(bootMs / 1000).toFixed(1)} s`);
/** Every subtest after the boot: QEMU's multi-threaded TCG race (a host triple fault) is a TODO
 * with QEMU's evidence, and the subtests after it skip. The race is likeliest under the random
 * speed switches, so those run after the checks that need a live guest. */
const guard = raceGuard(m, resets);

/** On failure, the evidence: the hypervisor log and the guest console, both tails. */
function evidence(t: Test): void {
  t.teardown(() => {
    if (t.passing()) return;
    t.comment(`hypervisor log tail:\n${m.hvLog.slice(-25).join('\n')}`);
    t.comment(`guest console tail:\n${consoleTail.join('\n')}`);
    if (!m.running) t.comment(`QEMU: ${resets.lastReset()}`);
  });
}

t.test(`Linux brings up all ${CPUS} CPUs and every one runs under the hypervisor`, async (t) => {
  evidence(t);
  t.equal((await guestOk(m, 'nproc')).trim(), String(CPUS), 'nproc');
  t.equal(await onlineCpus(m), `0-${CPUS - 1}`, '/sys/devices/system/cpu/online');
  await installSmpPrograms(m);
  const probes = await probeEveryCpu(m, CPUS);
  for (const p of probes) {
    t.equal(p.ranOn, p.cpu, `the probe pinned to cpu ${p.cpu} ran there`);
    t.equal(p.signature, 'tsx-hv-vtime', `cpu ${p.cpu} reports the hypervisor's CPUID signature`);
  }
  const s = await hvStatus(m);
  t.equal(s.cpus?.length, CPUS, 'status lists every CPU');
  t.same(s.cpus!.map((c) => c.state), Array(CPUS).fill('running'), 'status: every cpu running');
  t.same(s.cpus!.map((c) => c.apic_id), [...Array(CPUS).keys()], 'APIC IDs 0..N-1');
  t.ok(s.cpus!.every((c) => c.apic > 0), 'every cpu has trapped APIC writes');
  // At 1x the clock reads make no exits (raw before arming, the TSC offset alone once armed).
  t.same(s.cpus!.map((c) => c.tsc === 'raw' || c.tsc === 'scaled'), Array(CPUS).fill(true), `every cpu reads its clock at 1x without exits (${s.cpus!.map((c) => c.tsc).join(',')})`);
  const sum = s.cpus!.reduce((a, c) => a + c.exits_total, 0);
  // The counters are read one after another while the CPUs keep exiting: equal within 1%.
  t.ok(Math.abs(s.exits_total - sum) <= s.exits_total / 100, `the total (${s.exits_total}) is the sum over the CPUs (${sum})`);
  t.same(panics(m), [], 'no hypervisor panic');
});

t.test('every CPU\'s clock runs at the requested speed within 0.1%', async (t) => {
  evidence(t);
  t.match(await m.control('arm', 10_000), /^ok armed/, 'armed');
  await guard.run(t, async () => {
    const rows: CpuSpeed[] = [];
    for (let cpu = 0; cpu < CPUS; cpu++) rows.push(await measureOnCpu(m, cpu, 60, 10));
    for (const cpu of [1, CPUS - 1]) {
      rows.push(await measureOnCpu(m, cpu, 1, 8));
      rows.push(await measureOnCpu(m, cpu, 10, 8));
    }
    await pinAgent(m, `0-${CPUS - 1}`);
    reportSpeeds(t, rows);
    t.same(panics(m), [], 'no hypervisor panic');
  });
});

t.test('every AP goes offline and online twice at 10x; the guest stays consistent', async (t) => {
  evidence(t);
  await guard.run(t, async () => {
    t.equal(await m.control('speed 10', 10_000), 'ok speed 10/1', 'speed 10');
    await offlineOnlineEveryAp(m, t, CPUS, 2);
    t.equal(await onlineCpus(m), `0-${CPUS - 1}`, 'every cpu online');
    t.same(await cpuStates(m), Array(CPUS).fill('running'), 'status: every cpu running');
    t.match(await m.agent('clock', 20_000), /mono=\d+/, 'the agent answers');
    const probes = await probeEveryCpu(m, CPUS);
    t.ok(probes.every((p) => p.signature === 'tsx-hv-vtime' && p.ranOn === p.cpu), 'every cpu still reports the signature');
    t.same(panics(m), [], 'no hypervisor panic');
  });
});

t.test('CLOCK_MONOTONIC never goes backwards across CPUs under 200 random speed switches', async (t) => {
  evidence(t);
  await guard.run(t, async () => {
    // The read rate at a trapped speed, as during the switches (at 1x under SVM the reads make
    // no exits and run ~5 times faster, which made this run ~4 times as long as intended).
    t.equal(await m.control('speed 10', 10_000), 'ok speed 10/1', 'speed 10');
    const rate = await monotonicReadRate(m, 20_000);
    const fromEnv = Number(process.env.TSX_HV_SMP_READS);
    const reads = fromEnv > 0 ? fromEnv : Math.max(50_000, Math.round((rate * MONOTONIC_CI_SECONDS) / 10_000) * 10_000);
    t.comment(`smp_monotonic: ${rate.toFixed(0)} reads/s over ${CPUS} threads; running ${reads} reads${fromEnv > 0 ? ' (TSX_HV_SMP_READS)' : ''}`);
    const r = await monotonicUnderSwitches(m, t, { reads, switches: 200, expectedSeconds: reads / rate, seed: 4242 });
    t.comment(`smp_monotonic: ${r.line}`);
    t.comment(`${r.reads} reads by ${r.threads} threads in ${r.hostSeconds.toFixed(0)} s of host time with ${r.switches} speed switches; ${r.interleaved} reads saw a newer value from another CPU`);
    t.equal(r.exit, 0, 'smp_monotonic exit 0');
    t.equal(r.threads, CPUS, 'one thread per CPU');
    t.equal(r.misplaced, 0, 'every thread stayed on its CPU');
    t.equal(r.clock, 'vdso', 'the reads went through the vDSO');
    t.ok(r.reads >= reads - CPUS, `${r.reads} reads`);
    t.equal(r.backwards, 0, `no read was below a value another CPU had published before it (worst ${r.worstBackNs} ns)`);
    t.equal(r.ownBackwards, 0, 'no thread saw its own clock go backwards');
    t.ok(r.interleaved > 0, 'the CPUs read concurrently');
    t.equal(r.switches, 200, '200 speed switches during the reads');
    t.equal(await m.control('speed 1', 10_000), 'ok speed 1/1', 'speed 1');
    t.same(panics(m), [], 'no hypervisor panic');
  });
});

t.test('an SMI IPI to a running CPU does not panic the hypervisor', async (t) => {
  evidence(t);
  await guard.run(t, async () => {
    t.equal(await m.control('speed 1', 10_000), 'ok speed 1/1', 'speed 1');
    // ICR low 0x4200: SMI (delivery mode 010), level assert; ICR high: APIC ID 1.
    const sent = await guestExec(m, 'taskset -c 0 /tmp/smp_apic icr 1 0x4200 2>&1', 15_000).catch((e: Error) => ({ exit: -1, out: e.message }));
    t.comment(`SMI from cpu 0 to cpu 1: ${sent.out.trim()}`);
    await new Promise((r) => setTimeout(r, 5000));
    t.same(panics(m), [], 'no hypervisor panic');
    t.ok(m.running, 'the machine still runs');
    if (m.running) t.match(await m.control('status', 10_000), /^ok \{/, 'the hypervisor answers');
    const alive = m.running && (await m.agent('clock', 10_000).then(() => true, () => false));
    t.comment(`after the SMI the guest ${alive ? 'answers' : 'does not answer'}`);
    t.comment(`smp.test.ts: ${((performance.now() - fileStart) / 1000).toFixed(0)} s since the machine started`);
  });
});
