import { execa, type Options } from 'execa';
import type { ProgramTool } from '../doctor/catalog.js';
import { locateTool } from '../doctor/locate.js';
import { MissingToolError, TimeoutError, ToolFailedError } from '../errors.js';
import { interruption, throwIfInterrupted } from './abort.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** A program already found on disk (by locateTool, a doctor probe, or Node's own executable). */
export type ProgramPath = `/${string}`;

/** This Node.js executable, for the package's own scripts (scripts/build-addon.mjs). */
export const NODE: ProgramPath = process.execPath as ProgramPath;

export type RunOptions = Omit<Options, 'cancelSignal'> & {
  /** Return the result of a non-zero exit instead of throwing ToolFailedError. */
  allowFailure?: boolean;
  /** Added to the ToolFailedError / MissingToolError a failure throws: what the user should do. */
  hint?: string;
  /**
   * Stops the program (SIGTERM) when aborted, e.g. by Ctrl-C; run() then throws the signal's
   * reason when it is a TsxHvError (the InterruptedError naming SIGINT or SIGTERM), else an
   * InterruptedError (exit 130). An already aborted signal starts nothing.
   */
  signal?: AbortSignal;
};

/**
 * Run an external program with an argument array (never a shell string). The only way tsx-hv
 * starts other programs (STYLE.md).
 *
 * - `program` is a name from the doctor catalog (src/doctor/catalog.ts), found through it in
 *   PATH and the sbin directories (alternative names included), or an absolute path found earlier
 *   (a doctor probe, Node's own executable); errors name the program as given
 * - not installed: MissingToolError (exit 77) naming the package to install
 * - killed by the `timeout` option: TimeoutError (exit 124)
 * - aborted through `signal`: the signal's reason (InterruptedError, exit 130)
 * - non-zero exit or killed by a signal: ToolFailedError naming the program, its exit code or
 *   signal and the last lines of its stderr, unless `allowFailure` is set
 */
export async function run(program: ProgramTool | ProgramPath, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  throwIfInterrupted(opts.signal);
  const path = program.startsWith('/') ? program : await locateTool(program as ProgramTool, { hint: opts.hint });
  return execute(program, path, args, opts);
}

/**
 * run() for programs outside the catalog, looked up in PATH only: what tests use for their
 * fixtures (mkfs, ip, tar). tsx-hv's own modules never call it (a unit test checks src/), so that
 * `tsx-hv doctor` knows every program they run.
 */
export async function runProgram(program: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  throwIfInterrupted(opts.signal);
  return execute(program, program, args, opts);
}

async function execute(program: string, path: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const { allowFailure, hint, signal, ...execaOpts } = opts;
  // No stdin unless the caller gives one (`input`, `inputFile`, `stdin`, `stdio`): a program that
  // would wait for a terminal gets end-of-file instead of hanging a command or a test.
  const given = [execaOpts.input, execaOpts.inputFile, execaOpts.stdin, execaOpts.stdio].some((o) => o !== undefined);
  const stdin = given ? {} : { stdin: 'ignore' as const };
  const r = await execa(path, args, { reject: false, ...stdin, ...execaOpts, ...(signal ? { cancelSignal: signal } : {}) });
  if (r.isCanceled) throw interruption(signal!, `${program} was stopped: interrupted`);
  if (r.code === 'ENOENT') throw new MissingToolError(program, hint);
  if (r.timedOut) throw new TimeoutError(`${program} did not finish within ${String(execaOpts.timeout)} ms and was stopped`, hint);
  const result = { stdout: text(r.stdout), stderr: text(r.stderr), exitCode: r.exitCode ?? -1 };
  if (r.failed && !allowFailure) {
    const detail = result.stderr || result.stdout || (r.exitCode === undefined && !r.signal ? (r.message ?? '') : '');
    throw new ToolFailedError(program, r.exitCode, detail, { signal: r.signal, hint });
  }
  return result;
}

function text(value: unknown): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.join('\n');
  return String(value);
}
