/**
 * Guest-side instruction fuzzer (issue 11): 10,000 in CI, 100,000 in `npm run soak:fuzz` (TSXHV_FUZZ_COUNT) random byte sequences around RDTSC
 * (0F 31) and RDTSCP (0F 01 F9) — 0..14 random prefixes from {66 67 F2 F3 F0 2E 36 3E 26 64 65
 * 40..4F}, a few neighbouring opcodes, about half of them straddling a page boundary — each run
 * at CPL 3 in its own forked child (insn_fuzz.c). The same seed runs on the baseline (no
 * hypervisor) and under tsx-hv at 2x (see Speed below); every sequence must end the same way, except where real
 * hardware differs from QEMU TCG (insn_fuzz.c, hardware_outcome(): LOCK is #UD; RDTSCP with a
 * 66 prefix still sets RCX = TSC_AUX, which QEMU 10.0 does not; sequences over 15 bytes are #GP
 * on both). The guest compares per sequence and prints a digest per 1000
 * sequences; only mismatches are shown in detail. The hypervisor must never panic.
 *
 * TSXHV_FUZZ_SEED and TSXHV_FUZZ_COUNT override the seed and the count; TSXHV_FUZZ_CPUS=N boots
 * both machines with N CPUs (the children then alternate between CPU 0 and 1).
 *
 * Speed: the hypervisor side runs at 2x (TSXHV_FUZZ_SPEED overrides; it must be a whole number).
 * Any speed other than 1x traps and scales every RDTSC/RDTSCP the same way. 60x was the speed
 * until the LAPIC timer ran on the virtual timeline (issue 13): since then the guest's tick
 * comes 60 times as often in host time, each tick costs several trapped exits of 20-66 us under
 * QEMU TCG, and the 100,000 forked children took over 20 minutes against the baseline's 6 (a CI
 * timeout). At 2x the tick costs what it does at 1x, give or take. The hostile battery
 * (hostile.test.ts) still runs its cases at 60x.
 */
import t from 'tap';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { EngineMachine } from '../../../src/engines/machine.js';
import { bootToAgent, buildGuestProgram, guestExec, hvStatus, installGuestFile, panics, withHvLogOnFailure } from './fixtures.js';

const SEED = Number(process.env.TSXHV_FUZZ_SEED ?? 20261130);
// 10,000 in CI: at 2x a sequence costs about 8.9 ms of host time under tsx-hv (2.5 ms on the
// baseline; measured 2026-12-01 with 5,000) on a quiet host, 22 ms under tsx-hv and 9 ms on the
// baseline in a loaded CI rehearsal (20,000 took 727 s of a job slot, 60,000 896 s on a quieter
// run); the whole suite had outgrown its budget. `npm run soak:fuzz` runs 100,000
// (TSXHV_FUZZ_COUNT sets any count).
const COUNT = Number(process.env.TSXHV_FUZZ_COUNT ?? 10_000);
const CPUS = process.env.TSXHV_FUZZ_CPUS ? Number(process.env.TSXHV_FUZZ_CPUS) : undefined;
const RUN_TIMEOUT_MS = 20 * 60_000;
const SPEED = process.env.TSXHV_FUZZ_SPEED ? Number(process.env.TSXHV_FUZZ_SPEED) : 2;
if (!Number.isInteger(SPEED) || SPEED < 2) throw new Error(`TSXHV_FUZZ_SPEED: a whole number of at least 2, got ${process.env.TSXHV_FUZZ_SPEED}`);

interface FuzzRun {
  sequences: number;
  straddling: number;
  withLock: number;
  guestMs: number;
  outcomes: string;
  digests: string[];
  hostMs: number;
}

async function runFuzz(m: EngineMachine, file: string): Promise<FuzzRun> {
  const start = Date.now();
  const r = await guestExec(m, `/tmp/insn_fuzz run ${SEED} ${COUNT} ${file}`, RUN_TIMEOUT_MS);
  const hostMs = Date.now() - start;
  if (r.exit !== 0) throw new Error(`insn_fuzz run exited ${r.exit}: ${r.out.slice(-400)}`);
  const head = /sequences (\d+) straddling (\d+) with-lock (\d+) guest-ms (\d+)/.exec(r.out);
  const outcomes = /^outcomes(.*)$/m.exec(r.out)?.[1]?.trim() ?? '';
  const digests = /^digests (.*)$/m.exec(r.out)?.[1]?.trim().split(' ') ?? [];
  if (!head) throw new Error(`unexpected insn_fuzz output: ${r.out.slice(0, 400)}`);
  return { sequences: Number(head[1]), straddling: Number(head[2]), withLock: Number(head[3]), guestMs: Number(head[4]), outcomes, digests, hostMs };
}

/** Reads a guest file through the agent (gzip + base64, in slices that fit one reply). */
async function fetchGuestFile(m: EngineMachine, path: string): Promise<Buffer> {
  const size = await guestExec(m, `gzip -9c ${path} > ${path}.gz && base64 -w0 ${path}.gz > ${path}.b64 && wc -c < ${path}.b64`);
  const total = Number(size.out.trim());
  let b64 = '';
  for (let at = 0; at < total; at += 40_000) {
    const part = await guestExec(m, `dd if=${path}.b64 bs=40000 skip=${at / 40_000} count=1 2>/dev/null`);
    b64 += part.out.trim();
  }
  if (b64.length !== total) throw new Error(`fetched ${b64.length} of ${total} base64 bytes of ${path}`);
  return gunzipSync(Buffer.from(b64, 'base64'));
}

let baselineCodes: Buffer | undefined;
let baselineRun: FuzzRun | undefined;
const fuzzer = buildGuestProgram('insn_fuzz.c');

t.test(`baseline: ${COUNT} sequences, seed ${SEED}`, async (t) => {
  const { m, bootMs } = await bootToAgent(t, { hypervisor: false, ...(CPUS ? { cpus: CPUS } : {}) });
  await installGuestFile(m, '/tmp/insn_fuzz', fuzzer);
  const run = await runFuzz(m, '/tmp/base.out');
  t.comment(`baseline: boot ${(bootMs / 1000).toFixed(1)} s, fuzz ${(run.hostMs / 1000).toFixed(1)} s host time (${((run.hostMs * 1000) / COUNT).toFixed(0)} us per sequence); ${run.straddling} straddling, ${run.withLock} with LOCK; outcomes: ${run.outcomes}`);
  t.equal(run.sequences, COUNT);
  t.ok(run.straddling > COUNT / 3, 'a good share straddles a page boundary');
  t.match(run.outcomes, /\btsc=\d+/, 'RDTSC completed for some');
  t.match(run.outcomes, /\btscp=\d+/, 'RDTSCP completed for some');
  t.match(run.outcomes, /fault-at-insn:SIGSEGV=\d+/, 'over-long sequences raised #GP');
  baselineCodes = await fetchGuestFile(m, '/tmp/base.out');
  t.equal(baselineCodes.length, COUNT, 'outcome of every sequence fetched');
  baselineRun = run;
});

t.test(`tsx-hv at ${SPEED}x: the same ${COUNT} sequences end the hardware way, no panic`, async (t) => {
  if (!baselineCodes || !baselineRun) return t.fail('no baseline outcomes');
  const { m, bootMs } = await bootToAgent(t, { hypervisor: true, ...(CPUS ? { cpus: CPUS } : {}) });
  t.match(await m.control('arm'), /^ok /);
  t.equal(await m.control(`speed ${SPEED}`), `ok speed ${SPEED}/1`);
  await installGuestFile(m, '/tmp/insn_fuzz', fuzzer);
  await installGuestFile(m, '/tmp/base.out.gz', gzipSync(baselineCodes), 0o644);
  t.equal((await guestExec(m, 'gunzip -f /tmp/base.out.gz && wc -c < /tmp/base.out')).out.trim(), String(COUNT), 'baseline outcomes in the guest');
  const before = await hvStatus(m);
  const run = await withHvLogOnFailure(t, m, () => runFuzz(m, '/tmp/hv.out'));
  const after = await hvStatus(m);
  const exits = (s: typeof before): number => s.exits.rdtsc + s.exits.rdtscp;
  t.comment(`tsx-hv: boot ${(bootMs / 1000).toFixed(1)} s, fuzz ${(run.hostMs / 1000).toFixed(1)} s host time (${((run.hostMs * 1000) / COUNT).toFixed(0)} us per sequence), ${exits(after) - exits(before)} RDTSC/RDTSCP exits, ${(after.faults_injected ?? 0) - (before.faults_injected ?? 0)} faults injected; outcomes: ${run.outcomes}`);
  t.equal(run.sequences, COUNT);

  const cmp = await guestExec(m, `/tmp/insn_fuzz compare ${SEED} ${COUNT} /tmp/base.out /tmp/hv.out`, 300_000);
  t.equal(cmp.exit, 0, 'compare ran');
  const summary = /compared (\d+) mismatches (\d+) hardware-rule-applied (\d+)/.exec(cmp.out);
  for (const line of cmp.out.split('\n').filter((l) => l.startsWith('mismatch ') || l.startsWith('expected ') || l.startsWith('hypervisor '))) t.comment(line);
  t.ok(summary, 'compare summary');
  const expectedDigests = /^expected-digests (.*)$/m.exec(cmp.out)?.[1]?.trim().split(' ') ?? [];
  const hvDigests = /^hypervisor-digests (.*)$/m.exec(cmp.out)?.[1]?.trim().split(' ') ?? [];
  t.equal(hvDigests.length, Math.ceil(COUNT / 1000), 'one digest per 1000 sequences');
  t.same(hvDigests, run.digests, 'the digests of the run and of the comparison agree');
  const badBlocks = expectedDigests.map((d, i) => (d === hvDigests[i] ? -1 : i)).filter((i) => i >= 0);
  t.same(badBlocks, [], `every block of 1000 ends as on hardware (blocks differing: ${badBlocks.slice(0, 20).join(', ') || 'none'})`);
  t.equal(Number(summary?.[2]), 0, `no sequence ends differently (${summary?.[2]} mismatches; ${summary?.[3]} sequences judged by a hardware rule (LOCK, 66 RDTSCP))`);

  const status = await hvStatus(m);
  t.equal(status.speed, `${SPEED}/1`, 'speed unchanged');
  t.match(await m.agent('clock', 20_000), /mono=\d+/, 'guest responsive');
  t.same(panics(m), [], 'no panic');
});
