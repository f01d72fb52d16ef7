import { execa, type Options } from 'execa';
import { MissingToolError, ToolFailedError } from '../errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Run an external program with an argument array (never a shell string).
 * Throws MissingToolError when it is not installed and ToolFailedError (program, exit code,
 * stderr tail) when it fails, unless `allowFailure` is set.
 */
export async function run(
  program: string,
  args: readonly string[],
  opts: Options & { allowFailure?: boolean; hint?: string } = {},
): Promise<RunResult> {
  const { allowFailure, hint, ...execaOpts } = opts;
  try {
    const r = await execa(program, args, { reject: false, ...execaOpts });
    if ((r as { code?: string }).code === 'ENOENT' || (r.failed && /ENOENT/.test(String(r.message)) && r.exitCode === undefined)) {
      throw new MissingToolError(program);
    }
    const result = { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? -1 };
    if (r.failed && !allowFailure) throw new ToolFailedError(program, r.exitCode, result.stderr || result.stdout, hint);
    return result;
  } catch (err) {
    if (err instanceof MissingToolError || err instanceof ToolFailedError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingToolError(program);
    throw err;
  }
}
