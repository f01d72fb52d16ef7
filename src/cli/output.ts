import { bigintReplacer } from '../util/render.js';

/**
 * How a command talks to the user: human text on stdout (on stderr under --json, where stdout
 * carries one JSON document or NDJSON events); warnings, debug lines and errors on stderr.
 * Every command receives one Output built from the global flags.
 */
export interface GlobalOptions {
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  color: boolean;
}

export class Output {
  /**
   * The exit code main() returns when the command finishes without throwing. A command whose
   * result is "not ok" (a check failed, a tool is missing) sets it after printing that result;
   * errors are thrown as typed errors instead (src/errors.ts).
   */
  exitCode = 0;

  constructor(
    readonly opts: GlobalOptions,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  get json(): boolean {
    return this.opts.json;
  }

  /** Normal human output: stdout, or stderr under --json (stdout is then the document); none with --quiet. */
  info(line: string): void {
    if (this.opts.quiet) return;
    (this.opts.json ? this.stderr : this.stdout).write(line + '\n');
  }

  /** Only with --verbose. */
  debug(line: string): void {
    if (this.opts.verbose) this.stderr.write(this.dim(line) + '\n');
  }

  warn(line: string): void {
    this.stderr.write(this.paint('33', 'warning: ') + line + '\n');
  }

  /** The one machine-readable document of a command. */
  document(value: unknown): void {
    this.stdout.write(JSON.stringify(value, bigintReplacer, 2) + '\n');
  }

  /** Raw text on stdout, for line protocols that are not JSON (TAP). */
  write(text: string): void {
    this.stdout.write(text);
  }

  /** stderr when it is a terminal (where a live progress line may be rewritten), else undefined. */
  get terminal(): NodeJS.WritableStream | undefined {
    return (this.stderr as NodeJS.WriteStream).isTTY ? this.stderr : undefined;
  }

  /** One NDJSON event (long-running commands with --json). */
  event(value: unknown): void {
    this.stdout.write(JSON.stringify(value, bigintReplacer) + '\n');
  }

  paint(code: string, text: string): string {
    return this.opts.color ? `\u001b[${code}m${text}\u001b[0m` : text;
  }
  ok(text: string): string {
    return this.paint('32', text);
  }
  bad(text: string): string {
    return this.paint('31', text);
  }
  dim(text: string): string {
    return this.paint('2', text);
  }
}

/**
 * Colour is off with --no-color or a non-empty NO_COLOR (https://no-color.org); otherwise on for a
 * TTY, or when FORCE_COLOR is set to anything but 0 (for pagers and CI logs that render colour).
 */
export function colorWanted(flag: boolean | undefined, env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (flag === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0';
  return isTTY;
}
