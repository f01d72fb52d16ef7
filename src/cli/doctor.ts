import { doctor, installMissing, type DoctorReport } from '../doctor/index.js';
import { ExitCode } from '../errors.js';
import type { Register } from './main.js';
import { table } from '../util/render.js';
import type { Output } from './output.js';

export const registerDoctor: Register = (program, output) => {
  program
    .command('doctor')
    .description('check this machine for everything tsx-hv needs: host tools, CPU, /dev/kvm and usable engines')
    .option('--install', 'install what is missing: apt-get on Debian/Ubuntu (as root or through sudo); elsewhere print the command')
    .addHelpText(
      'after',
      `
Examples:
  $ tsx-hv doctor                 table of tools, CPU, /dev/kvm and engines
  $ tsx-hv doctor --json          the same as one JSON document
  $ tsx-hv doctor --install       apt-get install the missing packages, then check again
  $ tsx-hv doctor --quiet         print nothing unless something is missing

Exit codes: 0 every required tool found (optional ones may be missing), 77 a required
tool is still missing (see docs/cli.md).`,
    )
    .action(async (opts: { install?: boolean }) => {
      const out = output();
      let report = await doctor();
      if (opts.install) report = await install(report, out);
      if (out.json) out.document(report);
      else if (out.opts.quiet) printMissing(report, out);
      else printReport(report, out);
      if (report.missing.length > 0) out.exitCode = ExitCode.missingTool;
    });
};

/** `--install`: install (or say how to), then return the report to print. */
export async function install(report: DoctorReport, out: Output): Promise<DoctorReport> {
  if (report.missing.length === 0) {
    out.info('nothing to install: every required tool is present');
    return report;
  }
  const outcome = await installMissing(report, { log: (line) => out.info(line) });
  if (outcome.instructions) out.warn(outcome.instructions);
  return outcome.report;
}

function yesNo(out: Output, value: boolean): string {
  return value ? out.ok('yes') : out.bad('no');
}

/** The human form of the report. */
export function printReport(r: DoctorReport, out: Output): void {
  out.info(`Host: ${r.distribution.name}\n`);
  const rows = [['TOOL', 'STATUS', 'VERSION', 'PACKAGE', 'NEEDED BY']];
  for (const t of r.tools) {
    rows.push([t.name, t.found ? out.ok('ok') : t.optional ? out.dim('optional') : out.bad('missing'), t.version ?? (t.found ? '?' : '-'), t.package ?? '(none)', t.neededBy.join(', ')]);
  }
  out.info(table(rows));
  for (const t of r.tools.filter((x) => x.problem)) out.info(out.bad(`  ${t.name}: ${t.problem}`));

  const c = r.cpu;
  const virt = c.vmx ? 'VT-x (vmx)' : c.svm ? 'AMD-V (svm)' : out.bad('none (no vmx/svm flag)');
  const hv = c.hypervisor ? `yes${c.hypervisorVendor ? ` (${c.hypervisorVendor})` : ''}${c.hypervisorSignature ? ` signature ${c.hypervisorSignature}` : ''}` : 'no (bare metal)';
  const tsc = c.tscHz === null ? 'unknown' : `${(c.tscHz / 1e6).toFixed(3)} MHz (${c.tscHzSource})`;
  const source = c.source === 'native-addon' ? 'CPUID through the native addon' : `/proc/cpuinfo${c.addonUnavailable ? '; native addon unavailable' : ''}`;
  out.info(`\nCPU      ${c.vendor ?? 'unknown vendor'} ${c.model ?? ''}, ${c.logicalCpus} logical CPUs (from ${source})`);
  out.info(`         virtualisation: ${virt}   under a hypervisor: ${hv}`);
  out.info(`         invariant TSC: ${yesNo(out, c.invariantTsc)}   TSC deadline: ${yesNo(out, c.tscDeadline)}   RDTSCP: ${yesNo(out, c.rdtscp)}`);
  out.info(`         TSC frequency: ${tsc}   clocksource: ${c.clocksource ?? 'unknown'}`);

  const k = r.kvm;
  const state = !k.present ? 'absent' : k.accessible ? 'present' : 'present, not accessible';
  out.info(`\nKVM      ${k.device} ${state}${k.modules.length ? ` (modules ${k.modules.join(', ')})` : ''}; can run a nested hypervisor: ${yesNo(out, k.canRunNestedHypervisor)}`);
  out.info(`         ${k.reason}`);

  out.info('');
  const engines = [['ENGINE', 'USABLE', 'WHY']];
  for (const e of r.engines) engines.push([e.name, yesNo(out, e.usable), e.reason]);
  out.info(table(engines));
  out.info('');
  printMissing(r, out);
}

function printMissing(r: DoctorReport, out: Output): void {
  for (const t of r.tools.filter((x) => !x.found && x.optional)) out.info(out.dim(`optional, not installed: ${t.name} (${t.optional})`));
  if (r.missing.length === 0) {
    out.info(out.ok(`All ${r.tools.length - r.optionalMissing.length} required tools found.`));
    return;
  }
  out.warn(`missing: ${r.missing.join(', ')}`);
  if (r.install.command) out.warn(`install with: ${r.install.command}   (or: tsx-hv doctor --install)`);
}
