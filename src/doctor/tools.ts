import { access } from 'node:fs/promises';
import { elfLinkage } from '../util/elf.js';
import { run, type ProgramPath } from '../util/run.js';
import { TOOLS, type Need, type PackageFamily, type ToolSpec } from './catalog.js';
import { findFirstProgram, findTool } from './locate.js';

export interface ToolStatus {
  name: string;
  found: boolean;
  version: string | null;
  path: string | null;
  neededBy: readonly Need[];
  /** Why tsx-hv works without it (see ToolSpec.optional); absent for required tools. */
  optional?: string;
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
    ...(spec.optional ? { optional: spec.optional } : {}),
  };
  const program = spec.programs ? await findFirstProgram(spec.programs, opts.searchPath) : null;
  status.path = spec.programs ? program : await firstExisting(spec.paths ?? []);
  if (status.path === null) return status;
  status.found = true;
  if (spec.mustBeStatic && (await elfLinkage(status.path)) !== 'static') {
    status.found = false;
    status.problem = `${status.path} is not a statically linked program; install ${status.package ?? spec.name}`;
  }
  if (program && spec.versionArgs) status.version = await programVersion(program, spec, opts.timeoutS ?? 10);
  if (status.version === null && status.package && opts.family === 'debian') status.version = await debianPackageVersion(status.package, opts.searchPath);
  return status;
}

/** Probe every tool of the catalog (in catalog order), two at a time: the machine has 2 cores. */
export async function probeTools(opts: ProbeOptions = {}, specs: readonly ToolSpec[] = TOOLS as readonly ToolSpec[]): Promise<ToolStatus[]> {
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

/** The first dotted version number in `output`, or the spec's own pattern's first group. */
export function parseVersion(output: string, pattern?: RegExp): string | null {
  const m = (pattern ?? /(\d+(?:\.\d+)+[\w.+~-]*)/).exec(output);
  return m?.[1] ?? null;
}

async function programVersion(path: ProgramPath, spec: ToolSpec, timeoutS: number): Promise<string | null> {
  try {
    const r = await run(path, spec.versionArgs!, { allowFailure: true, timeout: timeoutS * 1000 });
    return parseVersion(`${r.stdout}\n${r.stderr}`, spec.versionPattern);
  } catch {
    return null;
  }
}

async function debianPackageVersion(pkg: string, searchPath?: string): Promise<string | null> {
  const dpkgQuery = await findTool('dpkg-query', { searchPath });
  if (dpkgQuery === null) return null;
  const r = await run(dpkgQuery, ['-W', '-f', '${Version}', pkg], { allowFailure: true });
  return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : null;
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
