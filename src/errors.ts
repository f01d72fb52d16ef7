/**
 * Typed errors a user can cause, each with a documented exit code (docs/cli.md).
 * The CLI prints `error: <message>` (and `hint: ...` when present); stack traces only with
 * --verbose. Commands may document extra codes of their own (e.g. flash: 4 = verification failed).
 */
export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  cancelled: 3,
  missingTool: 77,
  timeout: 124,
  interrupted: 130,
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
      hint: hint ?? 'run `tsx-hv doctor` to see what is missing and `tsx-hv doctor --install` to install it',
    });
    this.name = 'MissingToolError';
    this.tool = tool;
  }
}

/** An external program failed: names the program, its exit code (or signal) and the tail of its stderr. */
export class ToolFailedError extends TsxHvError {
  readonly program: string;
  readonly programExitCode: number | undefined;
  readonly stderrTail: string;
  constructor(program: string, exitCode: number | undefined, stderr: string, opts: { signal?: string; hint?: string } = {}) {
    const tail = stderr.trim().split('\n').slice(-8).join('\n');
    const status = exitCode !== undefined ? `exit ${exitCode}` : `killed by ${opts.signal ?? 'a signal'}`;
    super('TOOL_FAILED', `${program} failed (${status})${tail ? `:\n${tail}` : ''}`, { hint: opts.hint });
    this.name = 'ToolFailedError';
    this.program = program;
    this.programExitCode = exitCode;
    this.stderrTail = tail;
  }
}

/** Something did not finish in the time it was given: exit 124 (the coreutils `timeout` code). */
export class TimeoutError extends TsxHvError {
  constructor(message: string, hint?: string) {
    super('TIMEOUT', message, { exitCode: ExitCode.timeout, hint });
    this.name = 'TimeoutError';
  }
}

/** The user declined (did not confirm a destructive step): exit 3. */
export class CancelledError extends TsxHvError {
  constructor(message: string, hint?: string) {
    super('CANCELLED', message, { exitCode: ExitCode.cancelled, hint });
    this.name = 'CancelledError';
  }
}

/** Stopped by SIGINT/SIGTERM (Ctrl-C): exit 130 (128 + SIGINT), after saying what state was left. */
export class InterruptedError extends TsxHvError {
  constructor(message: string, hint?: string) {
    super('INTERRUPTED', message, { exitCode: ExitCode.interrupted, hint });
    this.name = 'InterruptedError';
  }
}
