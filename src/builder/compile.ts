import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { TsxHvError } from '../errors.js';
import { NODE, run } from '../util/run.js';

export interface CompileOptions {
  /** Aborted (Ctrl-C): the compiler is stopped and the InterruptedError thrown. */
  signal?: AbortSignal;
}

/** The hypervisor: `cmake -S hv-core -B <out>/hv-core && cmake --build <out>/hv-core -j2`. */
export async function compileHvCore(source: string, buildDir: string, opts: CompileOptions = {}): Promise<void> {
  const lists = join(source, 'hv-core', 'CMakeLists.txt');
  if (!(await access(lists).then(() => true, () => false))) {
    throw new TsxHvError('NO_HV_CORE', `${lists} does not exist: there is no hypervisor to build yet`, {
      hint: 'the hypervisor sources (hv-core/) are missing from this checkout',
    });
  }
  await run('cmake', ['-S', join(source, 'hv-core'), '-B', buildDir], { signal: opts.signal, hint: 'install cmake and gcc (`tsx-hv doctor --install`)' });
  await run('cmake', ['--build', buildDir, '-j2'], { signal: opts.signal });
}

/** The Node addon, through the package's own script (cmake-js); returns false if it has none. */
export async function compileAddon(source: string, opts: CompileOptions = {}): Promise<boolean> {
  const script = join(source, 'scripts', 'build-addon.mjs');
  if (!(await access(script).then(() => true, () => false))) return false;
  await run(NODE, [script, '--strict'], { cwd: source, signal: opts.signal });
  return true;
}

/** The static guest agent with its Makefile (images/agent/Makefile, also used by provisioning). */
export async function compileAgent(source: string, out: string, opts: CompileOptions = {}): Promise<void> {
  await run('make', ['-C', join(source, 'images', 'agent'), `OUT=${out}`], { signal: opts.signal, hint: 'the agent needs gcc, make and the static glibc (libc6-dev)' });
}
