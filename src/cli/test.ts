import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { Option } from 'commander';
import { UsageError } from '../errors.js';
import { bootSpec } from '../scenario/boot.js';
import { builtinScenario } from '../scenario/builtin.js';
import { loadScenarios, prepareScenarioMedia, shippedScenarioFiles } from '../scenario/suite.js';
import { fanOut, type Reporter } from '../scenario/result.js';
import { runScenarios } from '../scenario/runner.js';
import { humanReporter, ansiPaint } from '../scenario/reporters/human.js';
import { jsonDocument } from '../scenario/reporters/json.js';
import { junitXml } from '../scenario/reporters/junit.js';
import { ndjsonFileReporter } from '../scenario/reporters/ndjson.js';
import { tapReporter } from '../scenario/reporters/tap.js';
import { parseSpeed } from '../control/speed.js';
import { MAX_CPUS, type Scenario } from '../scenario/schema.js';
import { addEngineOptions, engineChoice, type EngineFlags } from './engine-options.js';
import { checkMachineOptions } from '../engines/start.js';
import type { Register } from './main.js';
import type { Output } from './output.js';

interface TestFlags extends EngineFlags {
  speed?: string;
  scenario?: string[];
  list?: boolean;
  validate?: boolean;
  jobs: string;
  tap?: boolean;
  junit?: string;
  samples?: string;
  tolerance?: string;
  cpus?: string;
  media?: string;
  target?: string;
  identity?: string;
  sshOption?: string[];
  uefi?: boolean;
}

function positive(flag: string, text: string, integer = false): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UsageError(`${flag} must be a positive ${integer ? 'whole ' : ''}number, not "${text}"`);
  return n;
}

async function list(out: Output): Promise<void> {
  const scenarios = await loadScenarios(await shippedScenarioFiles());
  if (out.json) out.document(scenarios.map((s) => ({ name: s.name, file: s.source, description: s.description ?? null, steps: s.steps.length })));
  else for (const s of scenarios) out.info(`${s.name.padEnd(16)} ${s.source}\n${' '.repeat(17)}${s.description ?? ''}`);
}

async function validate(out: Output, files: string[]): Promise<void> {
  const scenarios = await loadScenarios(files);
  if (out.json) out.document({ valid: true, scenarios: scenarios.map((s) => ({ name: s.name, file: s.source, steps: s.steps.length })) });
  else for (const s of scenarios) out.info(`${out.ok('valid')}  ${s.source} (${s.name}, ${s.steps.length} steps)`);
}

async function test(out: Output, flags: TestFlags): Promise<void> {
  if (flags.tap && out.json) throw new UsageError('--tap and --json both want stdout; choose one');
  if (flags.list) return list(out);
  const files = flags.scenario ?? [];
  if (flags.validate) return validate(out, files.length ? files : await shippedScenarioFiles());
  const jobs = positive('-j', flags.jobs, true);
  const engine = engineChoice(flags);
  const scenarios: Scenario[] = await loadScenarios(files);
  if (flags.speed !== undefined || files.length === 0) {
    const tolerancePct = flags.tolerance === undefined ? undefined : positive('--tolerance', flags.tolerance);
    const cpus = flags.cpus === undefined ? undefined : positive('--cpus', flags.cpus, true);
    if (cpus !== undefined && cpus > MAX_CPUS) throw new UsageError(`--cpus must be at most ${MAX_CPUS}, not ${cpus}`);
    if (flags.uefi) checkMachineOptions({ ...engine, firmware: 'uefi' });
    scenarios.unshift(builtinScenario(parseSpeed(flags.speed ?? '60'), { tolerancePct, machine: { ...engine, ...(cpus === undefined ? {} : { cpus }), ...(flags.uefi ? { firmware: 'uefi' as const } : {}), ...(flags.target ? { target: flags.target } : {}) } }));
  } else if (flags.engine !== undefined || flags.cpu !== undefined || flags.ips !== undefined || flags.disk !== undefined || flags.bootDisk || flags.bootChain || flags.uefi) {
    throw new UsageError('--engine, --cpu, --ips, --disk, --boot-disk, --boot-chain and --uefi choose the built-in scenario\'s machine; scenario files set machine.engine, machine.cpu, machine.ips, machine.disks, machine.boot and machine.firmware', 'add --speed N, or set them in the file');
  }
  if (flags.target !== undefined) {
    if (flags.engine !== undefined || flags.cpu !== undefined || flags.ips !== undefined || flags.disk !== undefined || flags.bootDisk || flags.bootChain || flags.uefi || flags.media !== undefined || flags.cpus !== undefined) {
      throw new UsageError('--target reaches a machine that is already running: --engine, --cpu, --ips, --disk, --boot-disk, --boot-chain, --uefi, --media and --cpus do not apply');
    }
    if (!flags.target.startsWith('ssh://')) throw new UsageError(`--target takes ssh://[user@]host[:port], not "${flags.target}"`);
    for (const s of scenarios) Object.assign(s.machine, { target: flags.target, ...(flags.identity ? { identity: flags.identity } : {}), ...(flags.sshOption?.length ? { sshOptions: flags.sshOption } : {}) });
  }
  if (flags.bootDisk && flags.media) throw new UsageError('a machine that boots its disk (--boot-disk) has no media', 'drop --media');
  if (flags.media) for (const s of scenarios) s.machine.media ??= flags.media;
  // Build progress (a first build downloads a kernel and compiles): on the terminal, else with --verbose.
  const terminal = out.terminal;
  await prepareScenarioMedia(scenarios, (line) => (terminal && !out.opts.quiet ? terminal.write(`build: ${line}\n`) : out.debug(`build: ${line}`)));

  const reporters: Reporter[] = [];
  if (flags.tap) reporters.push(tapReporter((text) => out.write(text)));
  else if (!out.json) {
    reporters.push(humanReporter({ write: (text) => out.info(text.trimEnd()), live: out.opts.quiet ? undefined : out.terminal, paint: out.opts.color ? ansiPaint : undefined }));
  }
  if (flags.samples) reporters.push(ndjsonFileReporter(flags.samples));
  const summary = await runScenarios(scenarios, { boot: bootSpec, jobs, reporter: fanOut(reporters), keepRaw: Boolean(flags.samples) });
  if (flags.junit) await writeFile(flags.junit, junitXml(summary));
  if (out.json) out.document(jsonDocument(summary));
  out.exitCode = summary.exitCode;
}

export const registerTest: Register = (program: Command, output: () => Output) => {
  addEngineOptions(
    program.command('test').description('boot the guest under the hypervisor and measure the speed its clock runs at: the built-in scenario (--speed N) and/or scenario files'),
  )
    .addOption(new Option('--speed <N>', 'run the built-in scenario at N (60, 0.5, 1/10): 1x, N, back to 1x, with a sleep check (default 60 when no --scenario is given)'))
    .addOption(new Option('--scenario <file...>', 'run these scenario files (YAML, see docs/scenarios.md)'))
    .addOption(new Option('--list', 'list the scenarios shipped in scenarios/'))
    .addOption(new Option('--validate', 'only check scenario files (the --scenario ones, else the shipped ones); exit 2 if one is invalid'))
    .addOption(new Option('-j, --jobs <n>', 'scenarios to run at the same time (each boots its own machine)').default('1'))
    .addOption(new Option('--tolerance <percent>', 'allowed speed error of the built-in scenario (default 2)'))
    .addOption(new Option('--cpus <n>', `virtual CPUs of the built-in scenario's machine, 1-${MAX_CPUS} (default 1); scenario files set machine.cpus`))
    .addOption(new Option('--media <file>', 'boot this media instead of building build/media/tsx-hv.iso'))
    .addOption(new Option('--uefi', 'the built-in scenario\'s machine boots with UEFI firmware (OVMF) instead of BIOS (QEMU)'))
    .addOption(new Option('--target <ssh-url>', 'measure a machine that is already running under tsx-hv, over ssh (ssh://[user@]host[:port]; its agent installed by provision --agent): nothing is booted or powered off'))
    .addOption(new Option('-i, --identity <file>', 'with --target: ssh private key'))
    .addOption(new Option('-o, --ssh-option <option>', 'with --target: extra ssh -o option, e.g. StrictHostKeyChecking=accept-new (repeatable)').argParser((v: string, prev: string[] = []) => [...prev, v]))
    .addOption(new Option('--tap', 'TAP version 13 on stdout'))
    .addOption(new Option('--junit <file>', 'also write a JUnit XML report to file'))
    .addOption(new Option('--samples <file>', 'also write NDJSON events with every raw clock sample to file'))
    .addHelpText(
      'after',
      `
Exit codes: 0 all passed, 1 a check failed, 2 invalid scenario or usage, 77 engine or tool missing, 124 a step timed out.

Examples:
  $ tsx-hv test --speed 60                    the main check: does the guest's time run 60x?
  $ tsx-hv test --speed 1/10 --json           slow-down, one JSON document on stdout
  $ tsx-hv test --speed 60 --cpus 4           the same on a 4-CPU guest (every CPU under the hypervisor)
  $ tsx-hv test --speed 60 --engine bochs     the same on an emulated Intel VT-x CPU (Bochs; slow)
  $ tsx-hv test --speed 60 --disk debian.raw --boot-disk   an installed system's own GRUB entry (provision --hypervisor)
  $ tsx-hv test --speed 60 --target ssh://root@lab-17       a lab machine already running under tsx-hv
  $ tsx-hv test --scenario scenarios/speed-ladder.yaml --junit report.xml
  $ tsx-hv test --validate --scenario my.yaml`,
    )
    .action(async (flags: TestFlags) => test(output(), flags));
};
