import { access } from 'node:fs/promises';
import { MissingToolError } from '../errors.js';
import type { ProgramPath } from '../util/run.js';
import { findExecutable } from '../util/which.js';
import { toolSpec, type DataTool, type PackageFamily, type ProgramTool } from './catalog.js';

export interface LocateOptions {
  /** PATH to search (default: the process's PATH); sbin directories are always searched too. */
  searchPath?: string;
  /** Whose package name a MissingToolError names (default Debian's). */
  family?: PackageFamily | null;
}

/** The first of `programs` found in the search path (then the sbin directories), or null. */
export async function findFirstProgram(programs: readonly string[], searchPath?: string): Promise<ProgramPath | null> {
  for (const program of programs) {
    const path = await findExecutable(program, { searchPath });
    if (path !== null) return path as ProgramPath;
  }
  return null;
}

function programsOf(name: ProgramTool): readonly string[] {
  const spec = toolSpec(name);
  // The type allows only catalog programs; this guards callers that cast their way past it.
  if (!spec?.programs) throw new TypeError(`"${name}" is not a program in the doctor catalog (src/doctor/catalog.ts): add it there first`);
  return spec.programs;
}

/** The path of a catalog program (any of its alternative names), or null when it is not installed. */
export async function findTool(name: ProgramTool, opts: LocateOptions = {}): Promise<ProgramPath | null> {
  return findFirstProgram(programsOf(name), opts.searchPath);
}

/**
 * The path of a catalog program, or a MissingToolError (exit 77) that names the package to
 * install. `run()` calls this for every program it starts.
 */
export async function locateTool(name: ProgramTool, opts: LocateOptions & { hint?: string } = {}): Promise<ProgramPath> {
  const path = await findTool(name, opts);
  if (path !== null) return path;
  const pkg = toolSpec(name)!.packages[opts.family ?? 'debian'];
  throw new MissingToolError(name, opts.hint ?? `install ${pkg ? `the package ${pkg}` : name} (\`tsx-hv doctor --install\` does it on Debian/Ubuntu)`);
}

/**
 * The first existing file of a catalog data package (firmware images and the like), or a
 * MissingToolError (exit 77) that names the package to install.
 */
export async function locateData(name: DataTool, opts: Pick<LocateOptions, 'family'> = {}): Promise<string> {
  const spec = toolSpec(name);
  if (!spec?.paths) throw new TypeError(`"${name}" is not a data package in the doctor catalog (src/doctor/catalog.ts): add it there first`);
  for (const path of spec.paths) {
    if (await access(path).then(() => true, () => false)) return path;
  }
  const pkg = spec.packages[opts.family ?? 'debian'];
  throw new MissingToolError(name, `none of ${spec.paths.join(', ')} exists: install ${pkg ? `the package ${pkg}` : name} (\`tsx-hv doctor --install\` does it on Debian/Ubuntu)`);
}
