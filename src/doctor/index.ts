import { probeCpu, type CpuReport } from './cpu.js';
import { hostDistribution, type HostDistribution } from './distro.js';
import { bochsCpuModels, judgeEngines, type EngineReport } from './engines.js';
import { formatInstallCommand, installPackages, planInstall, type InstallPlan } from './install.js';
import { probeKvm, type KvmReport } from './kvm.js';
import { findTool } from './locate.js';
import { probeTools, type ProbeOptions, type ToolStatus } from './tools.js';

/** Everything `tsx-hv doctor` knows about this machine; `--json` prints exactly this. */
export interface DoctorReport {
  tools: ToolStatus[];
  cpu: CpuReport;
  kvm: KvmReport;
  engines: EngineReport[];
  distribution: HostDistribution;
  /** Names of the required tools that were not found: doctor exits 77 while there are any. */
  missing: string[];
  /** Names of the optional tools (ToolSpec.optional) that were not found: reported, not a failure. */
  optionalMissing: string[];
  /** How to install the missing tools here: the packages and the command line (null: nothing to do). */
  install: Pick<InstallPlan, 'manager' | 'packages' | 'unpackaged'> & { command: string | null };
}

export type DoctorOptions = Omit<ProbeOptions, 'family'> & {
  /** The machine's distribution (default: read from its os-release). */
  distribution?: HostDistribution;
};

/** Probe the host: tools, CPU, /dev/kvm, usable engines. Reads only; changes nothing. */
export async function doctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const distribution = opts.distribution ?? (await hostDistribution());
  const [tools, cpu] = await Promise.all([probeTools({ ...opts, family: distribution.family }), probeCpu()]);
  const kvm = await probeKvm(cpu);
  const bochs = await findTool('bochs', { searchPath: opts.searchPath });
  const models = bochs ? await bochsCpuModels(bochs) : [];
  const missing = tools.filter((t) => !t.found && !t.optional).map((t) => t.name);
  const optionalMissing = tools.filter((t) => !t.found && t.optional).map((t) => t.name);
  // Only required tools: `--install` must not pull in a benchmark tool or sudo on its own.
  const plan = planInstall(missing, distribution);
  const asRoot = process.getuid?.() === 0;
  return {
    tools,
    cpu,
    kvm,
    engines: judgeEngines(tools, cpu, models),
    distribution,
    missing,
    optionalMissing,
    install: {
      manager: plan.manager,
      packages: plan.packages,
      unpackaged: plan.unpackaged,
      command: plan.commands.length ? formatInstallCommand(plan, asRoot) : null,
    },
  };
}

export interface InstallOutcome {
  /** The report after installing (the same report when nothing was installed). */
  report: DoctorReport;
  /** Packages handed to the package manager. */
  installed: string[];
  /** What the user has to do instead, when tsx-hv could not install by itself. */
  instructions: string | null;
}

/**
 * `doctor --install`: on Debian/Ubuntu apt-get the packages of the missing tools (as root, or
 * through sudo) and probe again; elsewhere say exactly what to run. `log` gets progress lines.
 */
export async function installMissing(report: DoctorReport, opts: DoctorOptions & { log?: (line: string) => void; uid?: number } = {}): Promise<InstallOutcome> {
  if (report.missing.length === 0) return { report, installed: [], instructions: null };
  const plan = planInstall(report.missing, report.distribution);
  if (plan.manager === 'apt-get') {
    opts.log?.(`installing ${plan.packages.join(' ')} with apt-get ...`);
    await installPackages(plan, { uid: opts.uid });
    const after = await doctor({ ...opts, distribution: report.distribution });
    return { report: after, installed: plan.packages, instructions: null };
  }
  if (plan.manager === null) {
    return { report, installed: [], instructions: `tsx-hv does not know the package names of ${report.distribution.name}; install these tools: ${report.missing.join(', ')}` };
  }
  const lines = [];
  if (plan.commands.length) lines.push(`tsx-hv installs packages itself only on Debian/Ubuntu. On ${report.distribution.name} run:`, `  ${formatInstallCommand(plan, (opts.uid ?? process.getuid?.()) === 0)}`);
  if (plan.unpackaged.length) lines.push(`not packaged on ${report.distribution.name} (install by hand): ${plan.unpackaged.join(', ')}`);
  return { report, installed: [], instructions: lines.join('\n') };
}

export { planInstall, installPackages, formatInstallCommand, type InstallPlan, type PackageManager } from './install.js';
export { probeTool, probeTools, parseVersion, type ToolStatus, type ProbeOptions } from './tools.js';
export { findTool, locateData, locateTool, type LocateOptions } from './locate.js';
export { TOOLS, toolSpec, type ToolSpec, type Need, type PackageFamily, type ProgramTool, type DataTool } from './catalog.js';
export { parseCpuinfo, parseKernelLog, probeCpu, type CpuReport } from './cpu.js';
export { judgeKvm, probeKvm, type KvmFacts, type KvmReport } from './kvm.js';
export { judgeEngines, bochsCpuModels, BOCHS_VMX_MODELS, type EngineName, type EngineReport } from './engines.js';
export { distributionFromOsRelease, hostDistribution, type HostDistribution } from './distro.js';
