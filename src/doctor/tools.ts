import { access } from 'node:fs/promises';
import { MissingToolError } from '../errors.js';
import { elfLinkage } from '../util/elf.js';
import { run } from '../util/run.js';
import { findExecutable } from '../util/which.js';
import { TOOLS, toolSpec, type Need, type PackageFamily, type ToolSpec } from './catalog.js';

export interface ToolStatus {
  name: string;
  found: boolean;
  version: string | null;
  path: string | null;
  neededBy: Need[];
  /** The package that provides it on this host's distribution family (Debian's when unknown). */
  package: string | null;
  purpose: string;
  /** Why a program that exists still does not count as found (e.g. dynamically linked busybox). */
  problem?: string;
}

export interface ProbeOptions {
  /** PATH to search (default: the process's PATH); sbin directories are always searched too. */
  searchPath?: string;
  /** Which package names to report; also enables dpkg-query version look-ups on Debian. */
  family?: PackageFamily | null;
  /** Seconds a version command may take. */
  timeoutS?: number;
}

/** Find one tool and read its version. Never throws for a missing or broken tool: it reports. */
export async function probeTool(spec: ToolSpec, opts: ProbeOptions = {}): Promise<ToolStatus> {
  const family = opts.family ?? 'debian';
  const status: ToolStatus = {
    name: spec.name,
    found: false,
    version: null,
    path: null,
    neededBy: spec.neededBy,
    package: spec.packages[family] ?? null,
    purpose: spec.purpose,
  };
  status.path = spec.programs ? await findProgram(spec.programs, opts.searchPath) : await firstExisting(spec.paths ?? []);
  if (status.path === null) return status;
  status.found = true;
  if (spec.mustBeStatic && (await elfLinkage(status.path)) !== 'static') {
    status.found = false;
    status.problem = `${status.path} is not a statically linked program; install ${status.package ?? spec.name}`;
  }
  if (spec.programs && spec.versionArgs) status.version = await programVersion(status.path, spec, opts.timeoutS ?? 10);
  if (status.version === null && status.package && opts.family === 'debian') status.version = await debianPackageVersion(status.package, opts.searchPath);
  return status;
}

/** Probe every tool of the catalog (in catalog order), two at a time: the machine has 2 cores. */
export async function probeTools(opts: ProbeOptions = {}, specs: readonly ToolSpec[] = TOOLS): Promise<ToolStatus[]> {
  const results: ToolStatus[] = new Array(specs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < specs.length) {
      const i = next++;
      results[i] = await probeTool(specs[i]!, opts);
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

/**
 * The path of a program from the catalog, or a MissingToolError (exit 77) that names the package
 * to install. Modules that run catalog tools call this first.
 */
export async function locateTool(name: string, opts: ProbeOptions = {}): Promise<string> {
  const spec = toolSpec(name);
  if (!spec?.programs) throw new TypeError(`locateTool: "${name}" is not a program in the doctor catalog (src/doctor/catalog.ts)`);
  const path = await findProgram(spec.programs, opts.searchPath);
  if (path === null) {
    const pkg = spec.packages[opts.family ?? 'debian'];
    throw new MissingToolError(name, `install ${pkg ? `the package ${pkg}` : name} (\`tsx-hv doctor --install\` does it on Debian/Ubuntu)`);
  }
  return path;
}

/** The first dotted version number in `output`, or the spec's own pattern's first group. */
export function parseVersion(output: string, pattern?: RegExp): string | null {
  const m = (pattern ?? /(\d+(?:\.\d+)+[\w.+~-]*)/).exec(output);
  return m?.[1] ?? null;
}

async function programVersion(path: string, spec: ToolSpec, timeoutS: number): Promise<string | null> {
  try {
    const r = await run(path, spec.versionArgs!, { allowFailure: true, timeout: timeoutS * 1000 });
    return parseVersion(`${r.stdout}\n${r.stderr}`, spec.versionPattern);
  } catch {
    return null;
  }
}

async function debianPackageVersion(pkg: string, searchPath?: string): Promise<string | null> {
  const dpkgQuery = await findExecutable('dpkg-query', { searchPath });
  if (dpkgQuery === null) return null;
  const r = await run(dpkgQuery, ['-W', '-f', '${Version}', pkg], { allowFailure: true });
  return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

async function findProgram(programs: readonly string[], searchPath?: string): Promise<string | null> {
  for (const program of programs) {
    const path = await findExecutable(program, { searchPath });
    if (path !== null) return path;
  }
  return null;
}

async function firstExisting(paths: readonly string[]): Promise<string | null> {
  for (const path of paths) {
    try {
      await access(path);
      return path;
    } catch {
      continue;
    }
  }
  return null;
}
