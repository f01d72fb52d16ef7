/**
 * Issue 12 on a 2-CPU guest (-smp 2), one boot: all CPUs up and under the hypervisor, both
 * clocks at 1x, 10x and 60x within 0.1%, CPU 1 offline/online twice at 10x, hostile writes to
 * the xAPIC page as root (through /dev/mem, smp_apic.c; the guest boots with iomem=relaxed),
 * cross-CPU monotonicity under 200 random switches (a shorter run than smp.test.ts; after the
 * checks that need a live guest, because QEMU's multi-threaded TCG race is likeliest there:
 * raceGuard, smp-guest.ts), and last the INITs that park CPUs.
 * The hypervisor traps every write to that page and emulates INIT/STARTUP itself
 * (docs/hypervisor.md, "Every CPU"); none of this may panic it:
 * - IPIs it passes to the real APIC: fixed and lowest priority with a vector no device uses
 *   (0xE1; 0xEC would be Linux's own LOCAL_TIMER_VECTOR), NMI;
 * - odd writes: a 64-bit MOV and an unaligned MOV (MOV forms: emulated), REP STOSB and an SSE
 *   store (not emulated: #GP, the writing process dies by a signal);
 * - STARTUP to a running CPU (ignored) and a logical-destination INIT (logged and dropped);
 * (SMI, which the hypervisor also passes on, is sent at the end of smp.test.ts: it can take the
 * machine down, and the INIT cases here need a live guest.)
 * - last, because Linux cannot survive them: INIT to the other online CPU, then INIT to itself
 *   (shorthand "self") from CPU 0. Then only the hypervisor is checked: `status` still answers,
 *   shows each targeted CPU in wait-for-SIPI, and there is no `# PANIC`.
 */
import t, { type Test } from 'tap';
import { startMachine } from '../../../src/engines/start.js';
import { guestExec, hvStatus, mediaWithAppend, panics, READY_TIMEOUT_MS } from './fixtures.js';
import { MULTI_THREADED_TCG, raceGuard, resetRecorder,
  cpuStates,
  guestOk,
  installSmpPrograms,
  measureOnCpu,
  monotonicReadRate,
  monotonicUnderSwitches,
  offlineOnlineEveryAp,
  onlineCpus,
  pinAgent,
  probeEveryCpu,
  reportSpeeds,
  type CpuSpeed,
  printable,
} from './smp-guest.js';

const CPUS = 2;
const MONOTONIC_SECONDS = 20;
/** ICR low (Intel SDM vol. 3A, 10.6.1): delivery mode bits 10:8, destination mode bit 11 (logical),
 * level bit 14 (assert), destination shorthand bits 19:18. */
const ICR = {
  assert: 0x4000,
  fixed: 0x000,
  lowestPriority: 0x100,
  smi: 0x200,
  nmi: 0x400,
  init: 0x500,
  startup: 0x600,
  logical: 0x800,
  self: 0x40000,
};
/** Linux allocates device vectors from 0x21 upwards; 0xE1 is below its system vectors (0xEC and up). */
const UNUSED_VECTOR = 0xe1;
const hex = (n: number): string => `0x${n.toString(16)}`;
const fileStart = performance.now();

// iomem=relaxed: Debian's kernel has CONFIG_IO_STRICT_DEVMEM, which refuses /dev/mem mappings of
// busy regions such as the local APIC (mmap fails with EPERM); the hostile writes need one.
const resets = resetRecorder('smp-2');
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

function evidence(t: Test): void {
  t.teardown(() => {
    if (t.passing()) return;
    t.comment(`hypervisor log tail:\n${m.hvLog.slice(-25).join('\n')}`);
    t.comment(`guest console tail:\n${consoleTail.join('\n')}`);
    if (!m.running) t.comment(`QEMU: ${resets.lastReset()}`);
  });
}

/** The guest is alive and consistent: the agent answers, both CPUs online and running. */
async function healthy(t: Test, what: string): Promise<void> {
  t.match(await m.agent('clock', 20_000), /mono=\d+/, `${what}: the agent answers`);
  t.equal(await onlineCpus(m), `0-${CPUS - 1}`, `${what}: every cpu online`);
  t.same(await cpuStates(m), Array(CPUS).fill('running'), `${what}: every cpu running`);
  t.same(panics(m), [], `${what}: no hypervisor panic`);
}

async function waitForStates(want: string[], timeoutMs: number): Promise<string[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const states = await cpuStates(m);
    if (JSON.stringify(states) === JSON.stringify(want) || performance.now() > deadline) return states;
    await new Promise((r) => setTimeout(r, 200));
  }
}

t.test(`Linux brings up both CPUs and each runs under the hypervisor`, async (t) => {
  evidence(t);
  t.equal((await guestOk(m, 'nproc')).trim(), String(CPUS), 'nproc');
  t.equal(await onlineCpus(m), '0-1', '/sys/devices/system/cpu/online');
  await installSmpPrograms(m);
  for (const p of await probeEveryCpu(m, CPUS)) {
    t.equal(p.ranOn, p.cpu, `the probe pinned to cpu ${p.cpu} ran there`);
    t.equal(p.signature, 'tsx-hv-vtime', `cpu ${p.cpu} reports the hypervisor's CPUID signature`);
  }
  t.same(await cpuStates(m), ['running', 'running'], 'status: every cpu running');
});

t.test('both clocks at 1x, 10x and 60x within 0.1%', async (t) => {
  evidence(t);
  t.match(await m.control('arm', 10_000), /^ok armed/, 'armed');
  await guard.run(t, async () => {
    const rows: CpuSpeed[] = [];
    for (let cpu = 0; cpu < CPUS; cpu++) for (const speed of [1, 10, 60]) rows.push(await measureOnCpu(m, cpu, speed, 10));
    await pinAgent(m, '0-1');
    reportSpeeds(t, rows);
  });
});

t.test('CPU 1 offline and online twice at 10x', async (t) => {
  evidence(t);
  await guard.run(t, async () => {
    t.equal(await m.control('speed 10', 10_000), 'ok speed 10/1', 'speed 10');
    await offlineOnlineEveryAp(m, t, CPUS, 2);
    await healthy(t, 'after offline/online');
  });
});

t.test('hostile xAPIC writes the guest survives never panic the hypervisor', async (t) => {
  evidence(t);
  await guard.run(t, async () => {
    t.equal(await m.control('speed 1', 10_000), 'ok speed 1/1', 'speed 1');
    const apicIds = (await hvStatus(m)).cpus!.map((c) => c.apic_id);
    const apic = (cpu: number, args: string, timeoutMs = 60_000) => guestExec(m, `taskset -c ${cpu} /tmp/smp_apic ${args} 2>&1`, timeoutMs);
    const dmesgMark = (await guestOk(m, 'dmesg | wc -l')).trim();
    const faultsBefore = (await hvStatus(m)).faults_injected ?? 0;

    for (let cpu = 0; cpu < CPUS; cpu++) {
      const r = await apic(cpu, 'read');
      t.match(r.out, new RegExp(`apic_id=${hex(apicIds[cpu]!)} `), `cpu ${cpu} reads its own APIC ID through /dev/mem: ${r.out.trim()}`);
    }

    // IPIs the hypervisor hands to the real APIC unchanged, CPU 0 -> CPU 1.
    for (const [name, low] of [
      ['fixed, unused vector 0xE1', ICR.assert | ICR.fixed | UNUSED_VECTOR],
      ['lowest priority, vector 0xE1', ICR.assert | ICR.lowestPriority | UNUSED_VECTOR],
      ['NMI', ICR.assert | ICR.nmi],
    ] as const) {
      const r = await apic(0, `icr ${apicIds[1]} ${hex(low)}`);
      t.equal(r.exit, 0, `${name} (ICR low ${hex(low)}) to cpu 1: ${r.out.trim()}`);
      await healthy(t, `after ${name}`);
    }
    const dmesg = await guestOk(m, `dmesg | tail -n +${Number(dmesgMark) + 1} | tail -20`);
    t.comment(`guest kernel after the passed-through IPIs:\n${dmesg.trimEnd() || '(nothing new)'}`);

    // Odd writes, on each CPU. A 64-bit MOV and an unaligned MOV are MOV forms, which the
    // hypervisor decodes and emulates (docs/hypervisor.md); REP STOSB and an SSE store are not
    // emulated and must become #GP for the writer. Either way: no panic, the guest carries on.
    const oddWrites: string[] = [];
    for (let cpu = 0; cpu < CPUS; cpu++) {
      const r = await apic(cpu, 'write64 unaligned stosb movdqu');
      for (const c of ['write64', 'unaligned', 'stosb', 'movdqu']) {
        const result = new RegExp(`case=${c} cpu=\\d+ result=(\\S+)`).exec(r.out)?.[1] ?? r.out.trim();
        oddWrites.push(`cpu ${cpu} ${c}: ${result}`);
        if (c === 'stosb' || c === 'movdqu') t.ok(result === 'SIGSEGV' || result === 'SIGBUS', `cpu ${cpu}: ${c} into the APIC page is #GP for the writer (${result})`);
        else t.ok(['completed', 'SIGSEGV', 'SIGBUS'].includes(result), `cpu ${cpu}: ${c} into the APIC page is emulated or faults (${result})`);
      }
    }
    t.comment(`odd writes to the APIC page: ${oddWrites.join(', ')}`);
    const faultsAfter = (await hvStatus(m)).faults_injected ?? 0;
    t.ok(faultsAfter - faultsBefore >= 2 * CPUS, `the hypervisor injected the faults (${faultsAfter - faultsBefore})`);
    await healthy(t, 'after the faulting writes');

    // STARTUP to a running CPU is ignored; a logical-destination INIT (to both CPUs) is dropped.
    let r = await apic(0, `icr ${apicIds[1]} ${hex(ICR.assert | ICR.startup | 0x9a)}`);
    t.equal(r.exit, 0, `STARTUP to running cpu 1: ${r.out.trim()}`);
    await healthy(t, 'after STARTUP to a running cpu');
    const mark = m.hvLog.length;
    r = await apic(0, `icr 0x3 ${hex(ICR.assert | ICR.logical | ICR.init)}`);
    t.equal(r.exit, 0, `logical-destination INIT: ${r.out.trim()}`);
    await healthy(t, 'after a logical-destination INIT');
    t.comment(`hypervisor log after the logical INIT: ${m.hvLog.slice(mark).join(' | ') || '(nothing)'}`);
    t.ok(m.hvLog.slice(mark).some((l) => /logical-destination INIT IPI .*dropped/.test(l)), 'the hypervisor logged and dropped the logical-destination INIT');
  });
});

t.test('CLOCK_MONOTONIC never goes backwards across the CPUs under 200 random speed switches', async (t) => {
  evidence(t);
  await guard.run(t, async () => {
    // The read rate at a trapped speed, as during the switches (at 1x under SVM the reads make
    // no exits and run ~5 times faster, which made this run ~4 times as long as intended).
    t.equal(await m.control('speed 10', 10_000), 'ok speed 10/1', 'speed 10');
    const rate = await monotonicReadRate(m, 10_000);
    const reads = Math.max(20_000, Math.round((rate * MONOTONIC_SECONDS) / 10_000) * 10_000);
    const r = await monotonicUnderSwitches(m, t, { reads, switches: 200, expectedSeconds: reads / rate, seed: 2727 });
    t.comment(`smp_monotonic: ${r.line}; ${r.hostSeconds.toFixed(0)} s of host time, ${r.switches} switches`);
    t.equal(r.exit, 0, 'smp_monotonic exit 0');
    t.equal(r.threads, CPUS, 'one thread per CPU');
    t.equal(r.misplaced, 0, 'every thread stayed on its CPU');
    t.equal(r.clock, 'vdso', 'the reads went through the vDSO');
    t.equal(r.backwards, 0, `no cross-CPU backward step (worst ${r.worstBackNs} ns)`);
    t.equal(r.ownBackwards, 0, 'no thread saw its own clock go backwards');
    t.ok(r.interleaved > 0, 'the CPUs read concurrently');
  });
});

// Destructive, last: INIT to the other online CPU, then INIT to itself, from a process pinned
// to CPU 0 that sleeps in between so `status` can be read with one CPU parked.
t.test('INIT to a running CPU and to itself park them; the hypervisor carries on', async (t) => {
  evidence(t);
  await guard.run(t, async () => {
    t.equal(await m.control('speed 1', 10_000), 'ok speed 1/1', 'speed 1');
    const apicIds = (await hvStatus(m)).cpus!.map((c) => c.apic_id);
    await pinAgent(m, '0');
    const launched = await guestOk(m, `taskset -c 0 /tmp/smp_apic icr ${apicIds[1]} ${hex(ICR.assert | ICR.init)} sleep 4 icr 0 ${hex(ICR.assert | ICR.init | ICR.self)} > /tmp/init.out 2>&1 < /dev/null & echo pid=$!`);
    t.match(launched, /pid=\d+/, `the INIT writer started (${launched.trim()})`);
    const oneParked = await waitForStates(['running', 'wait-for-sipi'], 10_000);
    if (JSON.stringify(oneParked) !== JSON.stringify(['running', 'wait-for-sipi'])) {
      t.comment(`hypervisor log tail: ${m.hvLog.slice(-10).join(' | ')}`);
      t.comment(`status: ${JSON.stringify(await hvStatus(m))}`);
      t.comment(`guest processes: ${(await guestExec(m, 'ps; cat /tmp/init.out; dmesg | tail -5', 10_000).catch((e: Error) => ({ out: e.message }))).out}`);
    }
    t.same(oneParked, ['running', 'wait-for-sipi'], 'INIT to cpu 1: cpu 1 waits for a STARTUP, cpu 0 runs');
    // With cpu 1 parked behind Linux's back, cpu 0 may never get as far as the second write
    // (Linux waits for cpu 1 in an IPI or RCU): the guest is not expected to stay healthy here,
    // only the hypervisor. When the write does happen, cpu 0 must park.
    const bothParked = await waitForStates(['wait-for-sipi', 'wait-for-sipi'], 20_000);
    t.comment(`after INIT to self on cpu 0: ${JSON.stringify(bothParked)}`);
    t.ok(['wait-for-sipi,wait-for-sipi', 'running,wait-for-sipi'].includes(bothParked.join(',')), 'cpu 1 stays parked; cpu 0 is parked if its INIT to itself was reached');
    const s = await hvStatus(m);
    t.ok(s.exits_total > 0, 'status still answers with both CPUs parked');
    t.equal(await m.control('speed 10', 10_000), 'ok speed 10/1', 'the control port still takes commands');
    t.same(panics(m), [], 'no hypervisor panic');
    t.comment(`hypervisor log tail: ${m.hvLog.slice(-6).join(' | ')}`);
  });
  t.comment(`smp-2.test.ts: ${((performance.now() - fileStart) / 1000).toFixed(0)} s since the machine started`);
});
