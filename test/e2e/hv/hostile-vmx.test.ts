/**
 * Hostile guest under Intel VT-x (issue 14, "the hostile-guest battery of the hardening issue
 * under VMX"): the battery of hostile.test.ts on Bochs 2.7's Intel CPU (corei7_skylake_x, one
 * CPU), on the media's baseline entry and under tsx-hv's VMX backend armed at 60x. The baseline
 * here is Bochs's own Intel CPU, so the comparison is Intel against Intel: VMCALL and the VMX
 * instructions (which exit unconditionally in VMX non-root operation and must come back as the
 * #UD the guest would see without VT-x), the SVM instructions (#UD on Intel), RDTSC/RDTSCP with
 * every prefix under the zero-exit clock's hardware scaling, the hidden UART and the hypercall
 * port through the VMCS's I/O bitmaps, and MSR accesses through the MSR bitmaps. Afterwards the
 * hypervisor answers `status`, logged no panic, and the guest's clock runs at 60x against the
 * machine's own time (Bochs's time is not the host's: docs/engines.md).
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { BASELINE_ENTRY_TITLE, visibleText } from '../../../src/engines/grub-menu.js';
import { bootToAgent, guestExec, hvStatus, measureMachineSpeed } from './fixtures.js';
import { hypercallPortChecks, judgeUnderHypervisor, prepareGuest, recordBaseline, type Battery } from './hostile-battery.js';

let baseline: Battery | undefined;
let baselineMarker = false;

t.test('baseline (no hypervisor): the battery runs and records Bochs Intel outcomes', async (t) => {
  const { m, ready, bootMs } = await bootToAgent(t, { hypervisor: false, engine: 'bochs', cpuVendor: 'intel', cpus: 1 });
  t.comment(`Bochs baseline boot to agent ready: ${(bootMs / 1000).toFixed(0)} s`);
  // Bochs has no SMBIOS SKU to choose the entry: the engine types into GRUB's menu on the
  // console. GRUB redraws the entries with the highlight (*) moved to the baseline, then runs it
  // (a chosen entry gets no "Booting" line; only the timeout prints one).
  const text = visibleText((await readFile(m.paths.consoleLog)).toString('latin1'));
  t.ok(text.includes(`*${BASELINE_ENTRY_TITLE}`), "the baseline entry was chosen by typing into GRUB's menu");
  t.notMatch(text, /Booting `tsx-hv/);
  t.equal(ready.hypervisor, null, 'the guest sees no hypervisor');
  t.equal(ready.vendor, 'GenuineIntel');
  t.same(m.hvLog, [], 'the hypervisor port stayed silent');
  const started = performance.now();
  ({ battery: baseline, marker: baselineMarker } = await recordBaseline(t, m));
  t.comment(`baseline battery: ${((performance.now() - started) / 1000).toFixed(0)} s`);
});

t.test('under tsx-hv (VT-x) at 60x: same outcomes, hardware rules, hypervisor alive and at speed', async (t) => {
  if (!baseline) return t.fail('no baseline outcomes');
  const { m, ready, bootMs } = await bootToAgent(t, { hypervisor: true, engine: 'bochs', cpuVendor: 'intel', cpus: 1 });
  t.comment(`Bochs boot to agent ready under tsx-hv: ${(bootMs / 1000).toFixed(0)} s`);
  t.equal(ready.vendor, 'GenuineIntel');
  t.match(m.hvLog.join('\n'), /VT-x: cpu 0 in VMX root operation/, 'the VMX backend runs the guest');
  t.match(await m.control('arm'), /^ok /);
  // The programs go in at 1x: at 60x under Bochs a busy host made a plain exec miss its minute.
  await prepareGuest(t, m);
  t.equal(await m.control('speed 60'), 'ok speed 60/1');
  const before = await measureMachineSpeed(m, 15);
  t.comment(`speed before the battery: ${before.speed.toFixed(4)}x over ${before.machineSeconds.toFixed(1)} s of machine time`);
  const started = performance.now();
  await judgeUnderHypervisor(t, m, 'intel', 'Bochs Intel', baseline, baselineMarker, { prepared: true });
  t.comment(`battery under tsx-hv: ${((performance.now() - started) / 1000).toFixed(0)} s`);

  // The battery's `ia32_tsc write +2^35` moves the guest's TSC forward, and so its TSC_ADJUST
  // (SDM vol. 3B, 18.17.3). Linux notices within a second of its idle time and writes
  // TSC_ADJUST back to 0 ("[Firmware Bug]: TSC ADJUST differs ... Restoring",
  // arch/x86/kernel/tsc_sync.c), which steps its TSC back by 2^35 cycles; CLOCK_MONOTONIC then
  // stands still until the TSC has caught up, as it would on hardware: 2^35 cycles of guest
  // time, 1/60 of that in machine time. The speed is measured after that.
  let restored = false;
  for (let i = 0; i < 30 && !restored; i++) {
    restored = /TSC ADJUST differs/.test((await guestExec(m, 'dmesg | grep "TSC ADJUST" || true', m.timing.agentMs * 2)).out);
    if (!restored) await new Promise((r) => setTimeout(r, 1000));
  }
  const stallMachineS = 2 ** 35 / ((await hvStatus(m)).tsc_hz as number) / 60;
  t.comment(`Linux restored TSC_ADJUST: ${restored}; its clock stands for ${stallMachineS.toFixed(1)} s of machine time`);
  if (restored) {
    // The stall is machine time, and Bochs's machine time runs slower than the host's when the
    // host is loaded (a CI rehearsal beside a 3-machine fleet test measured two windows of 0x
    // after a fixed wait of twice the stall in host time): wait until the clock moves again,
    // i.e. a 2-second window sees it run at least half the speed, bounded at 40 windows.
    for (let i = 0; i < 40; i++) {
      const r = await measureMachineSpeed(m, 2);
      if (r.speed > 30) break;
      if (i === 39) t.comment(`the clock still stood after 40 windows (${r.speed.toFixed(4)}x)`);
    }
  }
  // The jump forward also sets off Linux's lockup and RCU-stall detectors, whose reports go to
  // the console for a while (a clock read and its MARK can then be far apart): the speed is the
  // median of three windows, each printed.
  const windows: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await measureMachineSpeed(m, 5);
    windows.push(r.speed);
    t.comment(`speed after the battery, window ${i + 1}: ${r.speed.toFixed(4)}x over ${r.machineSeconds.toFixed(1)} s of machine time`);
  }
  const median = [...windows].sort((a, b) => a - b)[1]!;
  t.ok(Math.abs(median - 60) / 60 < 0.01, `guest CLOCK_MONOTONIC runs at 60x within 1% (median ${median.toFixed(4)}x)`);

  t.test('the hypercall port: root can steer, an unprivileged process cannot', (t) => hypercallPortChecks(t, m));
});
