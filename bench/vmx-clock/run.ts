// npm run bench:vmx-clock - what one clock_gettime costs the guest under VT-x with the zero-exit
// clock (hardware TSC scaling) and with every RDTSC/RDTSCP trapped, side by side in one run
// (issue 14). Bochs 2.7, Intel model with TSC scaling, one CPU, the hypervisor armed at 1x (so
// guest time is machine time).
//
// One boot; smp_monotonic (test/e2e/hv/smp_monotonic.c: CLOCK_MONOTONIC through the vDSO, whose
// read is RDTSCP) runs READS reads pinned to CPU 0, alternating `tsc-scaling on` and `off` on
// the control port for ROUNDS rounds (TSX_HV_CLOCK_READS, default 200000; TSX_HV_CLOCK_ROUNDS,
// default 2). Per round and mode: the guest's own time per read (guest_ms / reads) and the
// RDTSC/RDTSCP exits the hypervisor counted. The table goes to stderr; the last line on stdout is
// one JSON object: {"scaled":{"nsPerRead":..,"exitsPerRead":..},"trapped":{..},"ratio":..}.
import { startMachine } from '../../src/engines/start.js';
import { hvStatus, standardMedia } from '../../test/e2e/hv/fixtures.js';
import { guestOk, installSmpPrograms } from '../../test/e2e/hv/smp-guest.js';

const READS = Number(process.env.TSX_HV_CLOCK_READS) > 0 ? Number(process.env.TSX_HV_CLOCK_READS) : 200_000;
const ROUNDS = Number(process.env.TSX_HV_CLOCK_ROUNDS) > 0 ? Number(process.env.TSX_HV_CLOCK_ROUNDS) : 2;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

const m = await startMachine({ engine: 'bochs', cpuVendor: 'intel', media: await standardMedia(), cpus: 1 });
try {
  const { bootMs } = await m.waitForReady(1_200_000);
  log(`Bochs boot to agent: ${(bootMs / 1000).toFixed(0)} s`);
  await m.control('arm');
  await installSmpPrograms(m);
  const results: Record<'scaled' | 'trapped', { nsPerRead: number[]; exitsPerRead: number[] }> = {
    scaled: { nsPerRead: [], exitsPerRead: [] },
    trapped: { nsPerRead: [], exitsPerRead: [] },
  };
  log('round  mode     ns/read (guest)  RDTSC exits/read');
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of ['scaled', 'trapped'] as const) {
      await m.control(`tsc-scaling ${mode === 'scaled' ? 'on' : 'off'}`);
      const s0 = await hvStatus(m);
      const out = await guestOk(m, `taskset -c 0 /tmp/smp_monotonic ${READS}`, 1_800_000);
      const s1 = await hvStatus(m);
      const reads = Number(/\breads=(\d+)/.exec(out)?.[1]);
      const guestMs = Number(/\bguest_ms=(\d+)/.exec(out)?.[1]);
      const exits = (s: typeof s0): number => (s.cpus ?? []).reduce((n, c) => n + c.rdtsc + c.rdtscp, 0);
      const ns = (guestMs * 1e6) / reads;
      const perRead = (exits(s1) - exits(s0)) / reads;
      results[mode].nsPerRead.push(ns);
      results[mode].exitsPerRead.push(perRead);
      log(`${String(round).padStart(5)}  ${mode.padEnd(7)}  ${ns.toFixed(0).padStart(15)}  ${perRead.toFixed(3).padStart(16)}`);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const summary = {
    reads: READS,
    rounds: ROUNDS,
    scaled: { nsPerRead: median(results.scaled.nsPerRead), exitsPerRead: median(results.scaled.exitsPerRead) },
    trapped: { nsPerRead: median(results.trapped.nsPerRead), exitsPerRead: median(results.trapped.exitsPerRead) },
    ratio: median(results.trapped.nsPerRead) / median(results.scaled.nsPerRead),
  };
  log(`trapped/scaled cost per read: ${summary.ratio.toFixed(1)}x`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} finally {
  await m.powerOff().catch(() => m.kill());
}
