import { ToolFailedError, TsxHvError } from '../errors.js';
import { run } from '../util/run.js';
import { TOOLS, type PackageFamily } from './catalog.js';
import type { HostDistribution } from './distro.js';
import { findTool } from './locate.js';

export type PackageManager = 'apt-get' | 'dnf' | 'zypper' | 'pacman';

export interface InstallPlan {
  distribution: HostDistribution;
  /** null: tsx-hv does not know this distribution's package manager. */
  manager: PackageManager | null;
  /** Packages that provide the missing tools, each once, in catalog order. */
  packages: string[];
  /** Missing tools with no package on this distribution (install them by hand). */
  unpackaged: string[];
  /** The commands to run as root, in order (empty when there is nothing to do or no manager). */
  commands: string[][];
}

const MANAGERS: Record<PackageFamily, PackageManager> = { debian: 'apt-get', fedora: 'dnf', suse: 'zypper', arch: 'pacman' };

/** How long apt-get waits for another apt/dpkg to release its lock before failing. */
const APT_LOCK_TIMEOUT_S = 300;

/** Which packages to install, with which commands, for the tools named in `missingTools`. */
export function planInstall(missingTools: readonly string[], distribution: HostDistribution): InstallPlan {
  const family = distribution.family;
  const packages: string[] = [];
  const unpackaged: string[] = [];
  for (const spec of TOOLS.filter((t) => missingTools.includes(t.name))) {
    const pkg = spec.packages[family ?? 'debian'];
    if (pkg === null) unpackaged.push(spec.name);
    else if (!packages.includes(pkg)) packages.push(pkg);
  }
  const manager = family === null ? null : MANAGERS[family];
  return { distribution, manager, packages, unpackaged, commands: manager === null ? [] : installCommands(manager, packages) };
}

export function installCommands(manager: PackageManager, packages: readonly string[]): string[][] {
  if (packages.length === 0) return [];
  switch (manager) {
    case 'apt-get': {
      const lock = ['-o', `DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_S}`];
      return [
        ['apt-get', ...lock, 'update'],
        ['apt-get', ...lock, 'install', '-y', '--no-install-recommends', ...packages],
      ];
    }
    case 'dnf':
      return [['dnf', 'install', '-y', ...packages]];
    case 'zypper':
      return [['zypper', '--non-interactive', 'install', ...packages]];
    case 'pacman':
      return [['pacman', '-S', '--needed', '--noconfirm', ...packages]];
  }
}

/** The plan as one line a user can paste into a shell (with sudo unless they are root). */
export function formatInstallCommand(plan: InstallPlan, asRoot: boolean): string {
  const sudo = asRoot ? '' : 'sudo ';
  const env = plan.manager === 'apt-get' ? 'DEBIAN_FRONTEND=noninteractive ' : '';
  return plan.commands.map((argv) => `${sudo}${argv[0] === 'apt-get' && argv.includes('install') ? env : ''}${argv.map(shellQuote).join(' ')}`).join(' && ');
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * Carry out an apt-get plan (Debian/Ubuntu): directly as root, else through sudo (which may ask
 * for a password on the terminal). The package manager's output goes to stderr so that stdout
 * stays one JSON document under --json. Other distributions: a TsxHvError carrying the command.
 */
export async function installPackages(plan: InstallPlan, opts: { uid?: number; lockWaitMs?: number } = {}): Promise<void> {
  if (plan.commands.length === 0) return;
  const uid = opts.uid ?? process.getuid?.() ?? -1;
  const asRoot = uid === 0;
  if (plan.manager !== 'apt-get') {
    throw new TsxHvError('INSTALL_UNSUPPORTED', `tsx-hv installs packages itself only on Debian/Ubuntu; this is ${plan.distribution.name}`, {
      hint: `run: ${formatInstallCommand(plan, asRoot)}`,
    });
  }
  const sudo = asRoot ? null : await findTool('sudo');
  if (!asRoot && sudo === null) {
    throw new TsxHvError('NOT_ROOT', 'installing packages needs root, and sudo is not installed', {
      hint: `run as root: ${formatInstallCommand(plan, true)}`,
    });
  }
  for (const argv of plan.commands) {
    // argv is an apt-get command line (manager 'apt-get'); under sudo, env passes the variable on.
    const once = (): Promise<unknown> =>
      run(sudo ?? 'apt-get', sudo ? ['env', 'DEBIAN_FRONTEND=noninteractive', ...argv] : argv.slice(1), {
        env: { DEBIAN_FRONTEND: 'noninteractive' },
        stdin: sudo ? 'inherit' : 'ignore',
        stdout: ['pipe', 2],
        stderr: ['pipe', 'inherit'],
        hint: `the command was: ${formatInstallCommand(plan, asRoot)}`,
      });
    await whileAptLocked(once, opts.lockWaitMs ?? APT_LOCK_TIMEOUT_S * 1000);
  }
}

/** apt-get's message when another apt (unattended-upgrades, a second `doctor --install`) holds a lock. */
export const APT_LOCKED = /Could not get lock|Unable to lock directory|Unable to acquire the dpkg frontend lock/;

/**
 * Runs `attempt` again while it fails because another apt holds a lock, for up to `waitMs`:
 * DPkg::Lock::Timeout makes apt-get wait for the dpkg lock, but `apt-get update` gives up at once
 * on the lists lock (/var/lib/apt/lists/lock), e.g. while another update runs. Other failures,
 * and a lock still held after `waitMs`, are thrown as they came.
 */
export async function whileAptLocked<T>(attempt: () => Promise<T>, waitMs: number, pauseMs = 2000): Promise<T> {
  const end = Date.now() + waitMs;
  for (;;) {
    try {
      return await attempt();
    } catch (e) {
      if (!(e instanceof ToolFailedError) || !APT_LOCKED.test(e.stderrTail) || Date.now() + pauseMs > end) throw e;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
}
