// npm run bench:idle - what an idle guest costs the host, with and without the hypervisor
// (issue 13 "an idle guest costs nothing": goal within 5 percentage points of the guest without
// the hypervisor, at 1x and 60x, with the control port answering within 100 ms).
//
// 1. Boots the standard media twice with 1 CPU, side by side: the baseline entry (the same Linux
//    without the hypervisor, QEMU -smbios sku, src/engines/qemu-args.ts) and under the
//    hypervisor (armed). Both stay up for the whole run and are left idle (nothing is sent to
//    either guest's agent once they are up; 10 s settle first).
// 2. Windows of WINDOW_S seconds of host time (TSX_HV_IDLE_WINDOW overrides, default 30),
//    alternating the hypervisor's speed 1x, 60x (control port) for ROUNDS rounds
//    (TSX_HV_IDLE_ROUNDS, default 2). In every window the CPU use of BOTH emulator processes is
//    measured over the same interval: utime + stime from /proc/PID/stat (clock ticks) over the
//    window, as % of one host core. So the baseline is measured in every window, interleaved with
//    the hypervisor's 1x and 60x.
// 3. During the hypervisor's windows the host sends `status` on the control port once a second
//    and times the round trip (median and worst); `status` also gives the HLT exits per second.
// The table goes to stderr; the last line on stdout is one JSON object:
//   {"noHv":{"cpuPct":..},"hv1x":{"cpuPct":..,"ctlMs":..,"ctlMaxMs":..},"hv60x":{...},...}
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMachine } from '../../src/engines/start.js';
import type { EngineMachine } from '../../src/engines/machine.js';
import { hvStatus, READY_TIMEOUT_MS, standardMedia } from '../../test/e2e/hv/fixtures.js';

const WINDOW_S = Number(process.env.TSX_HV_IDLE_WINDOW) > 0 ? Number(process.env.TSX_HV_IDLE_WINDOW) : 30;
const ROUNDS = Number(process.env.TSX_HV_IDLE_ROUNDS) > 0 ? Number(process.env.TSX_HV_IDLE_ROUNDS) : 2;
const SPEEDS = ['1', '60'] as const;
const SETTLE_MS = 10_000;

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function emulatorPid(m: EngineMachine): number {
  const pid = Number(readFileSync(join(m.paths.workdir, 'qemu.pid'), 'utf8').trim());
  if (!(pid > 0)) throw new Error(`no emulator pid in ${m.paths.workdir}/qemu.pid`);
  return pid;
}

/** utime + stime of a process in clock ticks (fields 14 and 15 of /proc/PID/stat). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return Number(fields[11]) + Number(fields[12]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
}

interface Window {
  speed: string;
  noHvPct: number;
  hvPct: number;
  ctlMs: number;
  ctlMaxMs: number;
  ctlSamples: number;
  hltPerS: number;
  exitsPerS: number;
  seconds: number;
}

async function measureWindow(noHv: EngineMachine, hv: EngineMachine, speed: string): Promise<Window> {
  const reply = await hv.control(`speed ${speed}`, 10_000);
  if (reply !== `ok speed ${speed}/1`) throw new Error(`speed ${speed}: ${reply}`);
  await sleep(3000); // the guest settles at the new speed
  const [pa, pb] = [emulatorPid(noHv), emulatorPid(hv)];
  const s0 = await hvStatus(hv);
  const t0 = performance.now();
  const [a0, b0] = [cpuTicks(pa), cpuTicks(pb)];
  const rtts: number[] = [];
  while (performance.now() - t0 < WINDOW_S * 1000) {
    const q = performance.now();
    const r = await hv.control('status', 10_000);
    if (!r.startsWith('ok {')) throw new Error(`status: ${r}`);
    rtts.push(performance.now() - q);
    await sleep(Math.max(0, 1000 - (performance.now() - q)));
  }
  const [a1, b1] = [cpuTicks(pa), cpuTicks(pb)];
  const seconds = (performance.now() - t0) / 1000;
  const s1 = await hvStatus(hv);
  const hlt = (s: typeof s0): number => s.exits.hlt ?? (s.cpus ?? []).reduce((x, c) => x + c.hlt, 0);
  const pct = (ticks: number): number => (ticks / CLK_TCK / seconds) * 100;
  return {
    speed,
    noHvPct: pct(a1 - a0),
    hvPct: pct(b1 - b0),
    ctlMs: median(rtts),
    ctlMaxMs: Math.max(...rtts),
    ctlSamples: rtts.length,
    hltPerS: (hlt(s1) - hlt(s0)) / seconds,
    exitsPerS: (s1.exits_total - s0.exits_total) / seconds,
    seconds,
  };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

const media = await standardMedia();
const machines: EngineMachine[] = [];
try {
  const t0 = performance.now();
  const noHv = await startMachine({ media, hypervisor: false, cpus: 1 });
  machines.push(noHv);
  const hv = await startMachine({ media, hypervisor: true, cpus: 1 });
  machines.push(hv);
  const [bootNo, bootHv] = await Promise.all([noHv.waitForReady(READY_TIMEOUT_MS), hv.waitForReady(READY_TIMEOUT_MS)]);
  log(`bench:idle: both guests booted (without the hypervisor ${(bootNo.bootMs / 1000).toFixed(1)} s, with it ${(bootHv.bootMs / 1000).toFixed(1)} s; ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  if (bootNo.ready.hypervisor) throw new Error(`the baseline guest reports a hypervisor: ${bootNo.ready.hypervisor}`);
  const armed = await hv.control('arm', 10_000);
  if (!armed.startsWith('ok')) throw new Error(`arm: ${armed}`);
  await sleep(SETTLE_MS);
  log(`bench:idle: ${ROUNDS} rounds of ${SPEEDS.map((s) => `${s}x`).join(', ')}, ${WINDOW_S} s windows, CLK_TCK ${CLK_TCK}, host load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);

  const windows: Window[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const speed of SPEEDS) {
      const w = await measureWindow(noHv, hv, speed);
      windows.push(w);
      log(`  round ${r + 1} ${speed}x: without ${w.noHvPct.toFixed(1)}%, with ${w.hvPct.toFixed(1)}%, status ${w.ctlMs.toFixed(1)} ms (worst ${w.ctlMaxMs.toFixed(1)})`);
    }
  }
  await hv.control('speed 1', 10_000);

  log('\nidle guest, 1 CPU, QEMU TCG: emulator CPU use (utime+stime, % of one host core)');
  log('window  speed  without hv   with hv   difference   status median ms   worst ms   HLT exits/s   exits/s');
  windows.forEach((w, i) =>
    log(
      `${String(i + 1).padEnd(7)} ${`${w.speed}x`.padEnd(6)} ${`${w.noHvPct.toFixed(1)}%`.padStart(10)} ${`${w.hvPct.toFixed(1)}%`.padStart(9)} ${`${(w.hvPct - w.noHvPct).toFixed(1)} pp`.padStart(12)} ${w.ctlMs.toFixed(1).padStart(18)} ${w.ctlMaxMs.toFixed(1).padStart(10)} ${w.hltPerS.toFixed(0).padStart(13)} ${w.exitsPerS.toFixed(0).padStart(9)}`,
    ),
  );
  const at = (speed: string): Window[] => windows.filter((w) => w.speed === speed);
  const summary = (speed: string) => {
    const ws = at(speed);
    const cpuPct = mean(ws.map((w) => w.hvPct));
    const base = mean(ws.map((w) => w.noHvPct));
    return {
      cpuPct: round(cpuPct),
      overNoHvPp: round(cpuPct - base),
      ctlMs: round(median(ws.map((w) => w.ctlMs)), 2),
      ctlMaxMs: round(Math.max(...ws.map((w) => w.ctlMaxMs)), 2),
      hltPerS: round(mean(ws.map((w) => w.hltPerS)), 0),
      exitsPerS: round(mean(ws.map((w) => w.exitsPerS)), 0),
    };
  };
  const result = {
    windowS: WINDOW_S,
    rounds: ROUNDS,
    noHv: { cpuPct: round(mean(windows.map((w) => w.noHvPct))) },
    hv1x: summary('1'),
    hv60x: summary('60'),
    goal: 'hv cpuPct within 5 pp of noHv at 1x and 60x; ctlMaxMs < 100',
    bootMs: { noHv: Math.round(bootNo.bootMs), hv: Math.round(bootHv.bootMs) },
  };
  log(`\nwithout the hypervisor ${result.noHv.cpuPct}%; with it at 1x ${result.hv1x.cpuPct}% (${result.hv1x.overNoHvPp} pp over), at 60x ${result.hv60x.cpuPct}% (${result.hv60x.overNoHvPp} pp over); status round trip median ${result.hv1x.ctlMs} / ${result.hv60x.ctlMs} ms, worst ${Math.max(result.hv1x.ctlMaxMs, result.hv60x.ctlMaxMs)} ms`);
  console.log(JSON.stringify(result));
} catch (err) {
  log(`bench:idle: failed: ${(err as Error).message}`);
  for (const m of machines) log(`${m.hypervisor ? 'hypervisor' : 'baseline'} machine: console ${m.paths.consoleLog}${m.hypervisor ? `\nhypervisor log tail:\n${m.hvLog.slice(-20).join('\n')}` : ''}`);
  process.exitCode = 1;
} finally {
  await Promise.all(machines.map((m) => m.kill()));
}
