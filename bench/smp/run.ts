// npm run bench:smp - what every CPU under the hypervisor costs and how fast a speed change
// reaches each CPU, on a 4-CPU guest under QEMU TCG (issue 12).
//
// 1. Boots the standard media with -smp 4 (builds it first if stale) and arms the hypervisor.
// 2. Idle guest: reads `status` twice, 10 s of host time apart, and prints per CPU the trapped
//    APIC-page writes per second (exits of kind `apic`: Linux writes EOI, the LAPIC timer and
//    IPIs through that page) and all exits per second.
// 3. Busy guest: the same with a busy loop on every CPU (`yes > /dev/null`, one per CPU, pinned).
// 4. Switch propagation: for a few speed changes, idle and busy, the real time from the change to
//    each CPU's first clock read under the new speed (`status` cpus[].switch_seen_us).
// The last line printed is JSON.
import { startMachine } from '../../src/engines/start.js';
import type { EngineMachine } from '../../src/engines/machine.js';
import { guestExec, hvStatus, READY_TIMEOUT_MS, standardMedia, type HvStatusReply } from '../../test/e2e/hv/fixtures.js';

const CPUS = 4;
const WINDOW_S = 10;
/**
 * Speeds up to 10x: at 60x and above an idle 4-CPU guest stalls in RCU (its timeouts run N times
 * faster while the LAPIC timer still counts real time, a separate issue), and a bench run ended
 * with the machine stopping after a 100x step.
 */
const SWITCHES = ['10', '2', '1', '1/2', '10', '1'];

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Rates {
  apicPerS: number[];
  exitsPerS: number[];
  clockExitsPerS: number[];
}

/** Two `status` readings WINDOW_S apart: per-CPU rates over the host time between them. */
async function rates(m: EngineMachine): Promise<Rates> {
  const t0 = performance.now();
  const a = await hvStatus(m);
  await sleep(WINDOW_S * 1000);
  const b = await hvStatus(m);
  const seconds = (performance.now() - t0) / 1000;
  const per = (f: (s: NonNullable<HvStatusReply['cpus']>[number]) => number): number[] => b.cpus!.map((c, i) => Math.round((f(c) - f(a.cpus![i]!)) / seconds));
  return { apicPerS: per((c) => c.apic), exitsPerS: per((c) => c.exits_total), clockExitsPerS: per((c) => c.rdtsc + c.rdtscp) };
}

/** The speed changes of SWITCHES, 3 s apart; switch_seen_us of every CPU after each. */
async function propagation(m: EngineMachine): Promise<{ speed: string; switchSeenUs: number[] }[]> {
  const out: { speed: string; switchSeenUs: number[] }[] = [];
  for (const speed of SWITCHES) {
    const reply = await m.control(`speed ${speed}`, 10_000);
    if (!reply.startsWith('ok speed ')) throw new Error(`speed ${speed}: ${reply}`);
    await sleep(3000);
    out.push({ speed, switchSeenUs: (await hvStatus(m)).cpus!.map((c) => c.switch_seen_us) });
  }
  return out;
}

function table(title: string, idle: Rates, busy: Rates): void {
  log(`\n${title}`);
  log('cpu  apic exits/s idle  busy    all exits/s idle  busy    clock exits/s idle  busy');
  for (let cpu = 0; cpu < CPUS; cpu++) {
    log(
      `${String(cpu).padEnd(4)} ${String(idle.apicPerS[cpu]).padStart(17)} ${String(busy.apicPerS[cpu]).padStart(5)}    ${String(idle.exitsPerS[cpu]).padStart(16)} ${String(busy.exitsPerS[cpu]).padStart(5)}    ${String(idle.clockExitsPerS[cpu]).padStart(18)} ${String(busy.clockExitsPerS[cpu]).padStart(5)}`,
    );
  }
}

function propagationTable(title: string, rows: { speed: string; switchSeenUs: number[] }[]): void {
  log(`\n${title}: real time from the change to each CPU's first clock read under it (us)`);
  log(`speed  ${[...Array(CPUS).keys()].map((c) => `cpu ${c}`.padStart(10)).join('')}`);
  for (const r of rows) log(`${r.speed.padEnd(6)} ${r.switchSeenUs.map((u) => String(u).padStart(10)).join('')}`);
}

const media = await standardMedia();
const m = await startMachine({ media, hypervisor: true, cpus: CPUS });
try {
  const { bootMs } = await m.waitForReady(READY_TIMEOUT_MS);
  log(`bench:smp: -smp ${CPUS} booted to the agent in ${(bootMs / 1000).toFixed(1)} s`);
  const armed = await m.control('arm', 10_000);
  if (!armed.startsWith('ok')) throw new Error(`arm: ${armed}`);
  await sleep(5000);

  log(`bench:smp: idle guest, status ${WINDOW_S} s apart`);
  const idle = await rates(m);
  const idlePropagation = await propagation(m);

  const busyLoops = [...Array(CPUS).keys()].map((c) => `taskset -c ${c} yes > /dev/null 2>&1 &`).join(' ');
  const started = await guestExec(m, `${busyLoops} sleep 1; pidof yes | wc -w`);
  if (started.out.trim() !== String(CPUS)) throw new Error(`busy loops did not start: ${started.out}`);
  log(`bench:smp: busy guest (yes > /dev/null on every CPU), status ${WINDOW_S} s apart`);
  const busy = await rates(m);
  const busyPropagation = await propagation(m);
  await guestExec(m, 'killall yes 2>/dev/null || kill $(pidof yes)');

  table(`APIC-page writes trapped per second (exits of kind apic), -smp ${CPUS}, QEMU TCG`, idle, busy);
  propagationTable('switch propagation, idle guest', idlePropagation);
  propagationTable('switch propagation, busy guest', busyPropagation);
  const final = await hvStatus(m);
  console.log(
    JSON.stringify({
      cpus: CPUS,
      bootMs: Math.round(bootMs),
      windowS: WINDOW_S,
      idle,
      busy,
      propagationUs: { idle: idlePropagation, busy: busyPropagation },
      states: final.cpus!.map((c) => c.state),
      hostNsPerExit: final.host_ns_per_exit,
    }),
  );
} catch (err) {
  log(`bench:smp: failed: ${(err as Error).message}\nhypervisor log tail:\n${m.hvLog.slice(-20).join('\n')}\nconsole: ${m.paths.consoleLog}`);
  process.exitCode = 1;
} finally {
  await m.kill();
}
