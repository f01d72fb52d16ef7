/**
 * Typed errors a user can cause, each with a documented exit code (docs/cli.md).
 * The CLI prints `error: <message>` (and `hint` when present); stack traces only with --verbose.
 */
export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  cancelled: 3,
  missingTool: 77,
  interrupted: 130,
  timeout: 124,
} as const;

export type ExitCodeName = keyof typeof ExitCode;

export class TsxHvError extends Error {
  readonly exitCode: number;
  readonly hint?: string;
  readonly code: string;
  constructor(code: string, message: string, opts: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'TsxHvError';
    this.code = code;
    this.exitCode = opts.exitCode ?? ExitCode.error;
    this.hint = opts.hint;
  }
}

/** Wrong flags, malformed arguments or input files: exit 2. */
export class UsageError extends TsxHvError {
  constructor(message: string, hint?: string) {
    super('USAGE', message, { exitCode: ExitCode.usage, hint });
    this.name = 'UsageError';
  }
}

/** A host program the command needs is not installed: exit 77 (the automake "skipped" code). */
export class MissingToolError extends TsxHvError {
  readonly tool: string;
  constructor(tool: string, hint?: string) {
    super('MISSING_TOOL', `${tool} is not installed`, {
      exitCode: ExitCode.missingTool,
      hint: hint ?? 'run `tsx-hv doctor --install` to install what is missing',
    });
    this.name = 'MissingToolError';
    this.tool = tool;
  }
}

/** An external program failed: names the program, its exit code and the tail of its stderr. */
export class ToolFailedError extends TsxHvError {
  constructor(program: string, exitCode: number | undefined, stderr: string, hint?: string) {
    const tail = stderr.trim().split('\n').slice(-8).join('\n');
    super('TOOL_FAILED', `${program} failed (exit ${exitCode ?? 'signal'})${tail ? `:\n${tail}` : ''}`, { hint });
    this.name = 'ToolFailedError';
  }
}

export class TimeoutError extends TsxHvError {
  constructor(message: string, hint?: string) {
    super('TIMEOUT', message, { exitCode: ExitCode.timeout, hint });
    this.name = 'TimeoutError';
  }
}
