import type { Command } from 'commander';
import { ExitCode, UsageError } from '../errors.js';
import { startSession } from '../engines/session.js';
import { smoke } from '../engines/smoke.js';
import { attachTerminal } from '../engines/terminal.js';
import { addEngineOptions, engineChoice, type EngineFlags } from './engine-options.js';
import type { Register } from './main.js';
import type { Output } from './output.js';

interface RunFlags extends EngineFlags {
  memory: string;
  cpus: string;
  media?: string;
  hypervisor: boolean;
  uefi?: boolean;
  smoke?: boolean;
  timeout?: string;
  keepLogs?: boolean;
}

function seconds(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--timeout must be a positive number of seconds, not "${text}"`);
  return n;
}

function cpuCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--cpus must be a positive whole number, not "${text}"`);
  return n;
}

async function runSmoke(out: Output, flags: RunFlags): Promise<void> {
  const r = await smoke({
    ...engineChoice(flags),
    memory: flags.memory,
    cpus: cpuCount(flags.cpus),
    media: flags.media,
    hypervisor: flags.hypervisor,
    firmware: flags.uefi ? 'uefi' : 'bios',
    timeoutMs: flags.timeout === undefined ? undefined : seconds(flags.timeout) * 1000,
    keepLogs: flags.keepLogs,
  });
  if (out.json) out.document(r);
  else {
    out.info(`${r.ok ? out.ok('PASS') : out.bad('FAIL')}  ${r.hypervisor ? 'under the hypervisor' : 'baseline (no hypervisor)'}`);
    out.info(`boot to agent ready  ${r.bootMs === undefined ? '-' : `${(r.bootMs / 1000).toFixed(2)} s`}`);
    out.info(`guest hypervisor     ${r.ready ? (r.ready.hypervisor ?? 'none') : '-'}`);
    out.info(`guest clocksource    ${r.clocksource ?? '-'}`);
    out.info(`hypervisor log       ${r.hvLog.lines} lines${r.hvLog.guestStarting ? ', guest started' : ''}${r.hvLog.panic ? ', PANIC' : ''}`);
    for (const l of r.hvLog.tail) out.info(out.dim(`  ${l}`));
    out.info(`power off            ${r.powerOff ?? '-'}`);
    for (const p of r.problems) out.warn(p);
    if (r.logs) out.info(`logs: ${[r.logs.console, r.logs.hv, r.logs.engine, r.logs.emulator].filter(Boolean).join(' ')}`);
  }
  if (!r.ok) out.exitCode = ExitCode.error;
}

async function runInteractive(out: Output, flags: RunFlags): Promise<void> {
  const stderr = process.stderr;
  const session = await startSession({
    ...engineChoice(flags),
    memory: flags.memory,
    cpus: cpuCount(flags.cpus),
    media: flags.media,
    hypervisor: flags.hypervisor,
    firmware: flags.uefi ? 'uefi' : 'bios',
    onHvLog: (line) => stderr.write(out.dim(`[hv] ${line}`) + '\r\n'),
  });
  const m = session.machine;
  stderr.write(`tsx-hv run: ${m.engine}, ${m.hypervisor ? 'under the hypervisor' : 'baseline, no hypervisor'}; a guest shell opens once the agent is up; Ctrl-C powers the machine off\r\n`);
  stderr.write(`  control socket  ${session.control}   (tsx-hv ctl finds it through ${session.statePath})\r\n`);
  stderr.write(`  hypervisor port ${m.paths.hv}   (held by this run; log: ${m.paths.hvLog})\r\n`);
  if (m.paths.qmp) stderr.write(`  QMP             ${m.paths.qmp}\r\n`);
  if (m.paths.rfb) stderr.write(`  RFB display     ${m.paths.rfb}   (Bochs' screen for a VNC viewer; keys are typed through it)\r\n`);
  stderr.write(`  console log     ${m.paths.consoleLog}\r\n`);
  if (m.paths.emulatorLog) stderr.write(`  ${m.engine} log${' '.repeat(Math.max(1, 12 - m.engine.length))}${m.paths.emulatorLog}\r\n`);
  // A shell on the console for the human; the agent keeps answering marked requests meanwhile.
  void m
    .waitForReady()
    .then(() => m.agent('shell', 10_000))
    .catch((e: Error) => m.running && stderr.write(`tsx-hv run: no guest shell: ${e.message}\r\n`));
  let stopping = false;
  const detach = attachTerminal(m, { stdin: process.stdin, stdout: process.stdout }, () => {
    if (stopping) return;
    stopping = true;
    stderr.write('\r\ntsx-hv run: powering off ...\r\n');
    void m.powerOff().then((r) => stderr.write(`tsx-hv run: machine off (${r.method})\r\n`));
  });
  const exit = await m.exited;
  detach();
  await session.close();
  if (out.json) out.document({ exit, logs: m.paths });
  if (!stopping && exit.code !== 0) out.exitCode = ExitCode.error;
}

export const registerRun: Register = (program: Command, output: () => Output) => {
  addEngineOptions(program.command('run').description('boot the media in an emulator with the guest console on this terminal, or headless with --smoke'))
    .option('--memory <size>', 'guest memory', '512M')
    .option('--cpus <n>', 'virtual CPUs', '1')
    .option('--media <file>', 'boot media (ISO or raw disk image; default build/media/tsx-hv.iso)')
    .option('--no-hypervisor', 'boot the media\'s baseline entry: the same Linux without the hypervisor')
    .option('--uefi', 'boot with UEFI firmware (OVMF) instead of BIOS (QEMU only)')
    .option('--smoke', 'headless: wait for the guest agent, report boot time, clocksource and hypervisor log, power off')
    .option('--timeout <seconds>', 'with --smoke: how long to wait for the guest agent (default 120, Bochs 480)')
    .option('--keep-logs', 'with --smoke: keep the work directory with the console, hypervisor and emulator logs even when it passes')
    .addHelpText(
      'after',
      '\nExamples:\n  $ tsx-hv run\n  $ tsx-hv run --smoke --json\n  $ tsx-hv run --smoke --no-hypervisor --uefi\n  $ tsx-hv run --engine bochs              Intel VT-x under Bochs (boots in 2-4 minutes)\n  $ tsx-hv run --smoke --engine bochs --cpu amd --ips 30000000',
    )
    .action(async (flags: RunFlags) => {
      const out = output();
      if (flags.smoke) await runSmoke(out, flags);
      else await runInteractive(out, flags);
    });
};
