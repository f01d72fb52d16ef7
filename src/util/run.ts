import { execa, type Options } from 'execa';
import { MissingToolError, TimeoutError, ToolFailedError } from '../errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export type RunOptions = Options & {
  /** Return the result of a non-zero exit instead of throwing ToolFailedError. */
  allowFailure?: boolean;
  /** Added to the ToolFailedError / MissingToolError a failure throws: what the user should do. */
  hint?: string;
};

/**
 * Run an external program with an argument array (never a shell string). The only way tsx-hv
 * starts other programs (STYLE.md).
 *
 * - not installed (ENOENT): MissingToolError (exit 77)
 * - killed by the `timeout` option: TimeoutError (exit 124)
 * - non-zero exit or killed by a signal: ToolFailedError naming the program, its exit code or
 *   signal and the last lines of its stderr, unless `allowFailure` is set
 */
export async function run(program: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const { allowFailure, hint, ...execaOpts } = opts;
  // No stdin unless the caller gives one (`input`, `inputFile`, `stdin`, `stdio`): a program that
  // would wait for a terminal gets end-of-file instead of hanging a command or a test.
  const given = [execaOpts.input, execaOpts.inputFile, execaOpts.stdin, execaOpts.stdio].some((o) => o !== undefined);
  const stdin = given ? {} : { stdin: 'ignore' as const };
  const r = await execa(program, args, { reject: false, ...stdin, ...execaOpts });
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
