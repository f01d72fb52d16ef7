import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ExitCode, TsxHvError } from '../errors.js';
import { Output, colorWanted, type GlobalOptions } from './output.js';
import { registerDoctor } from './doctor.js';
import { registerFlash } from './flash.js';
import { registerBuild } from './build.js';
import { registerRun } from './run.js';
import { registerCtl } from './ctl.js';
import { registerProvision } from './provision.js';
import { registerTest } from './test.js';
import { registerFleet } from './fleet.js';

/**
 * Each command lives in its own file in src/cli/ and registers itself here. A command file only
 * parses arguments and prints; the work is done by library functions in src/.
 */
export type Register = (program: Command, output: () => Output) => void;

const commands: Register[] = [registerDoctor, registerFlash, registerBuild, registerProvision, registerRun, registerCtl, registerTest, registerFleet];

export interface Streams {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** The commands to offer (default: all of them); tests pass their own. */
  commands?: readonly Register[];
}

/** The package version, read from package.json (two levels above src/cli/ and dist/cli/). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(output: () => Output, streams: Streams = {}): Command {
  const stdout = streams.stdout ?? process.stdout;
  const stderr = streams.stderr ?? process.stderr;
  const io = { writeOut: (s: string) => void stdout.write(s), writeErr: (s: string) => void stderr.write(s), outputError: () => undefined };
  const program = new Command('tsx-hv')
    .description('Make a whole OS perceive time N times faster or slower: build, flash, provision and measure the tsx-hv hypervisor.')
    .version(packageVersion(), '-V, --version')
    .addOption(new Option('--json', 'machine-readable output on stdout (one JSON document or NDJSON events)'))
    .addOption(new Option('-v, --verbose', 'more detail, and stack traces on errors'))
    .addOption(new Option('-q, --quiet', 'print only errors and results'))
    .addOption(new Option('--no-color', 'no colours (also when NO_COLOR is set)'))
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput(io);
  program.addHelpText(
    'after',
    `
Global options go before or after the command: tsx-hv --json doctor, tsx-hv doctor --json.

Examples:
  $ tsx-hv doctor                 check this machine for everything tsx-hv needs
  $ tsx-hv doctor --install       install what is missing (Debian/Ubuntu)
  $ tsx-hv help doctor            help for one command, with its examples

Exit codes: 0 ok, 1 error, 2 usage, 3 cancelled, 77 missing tool, 124 timeout,
130 interrupted; commands may add their own (docs/cli.md).`,
  );
  for (const register of streams.commands ?? commands) register(program, output);
  for (const sub of program.commands) sub.exitOverride().configureOutput(io);
  return program;
}

export function globalOptions(program: Command, env: NodeJS.ProcessEnv = process.env, isTTY = Boolean(process.stdout.isTTY)): GlobalOptions {
  const o = program.opts<{ json?: boolean; verbose?: boolean; quiet?: boolean; color?: boolean }>();
  return { json: Boolean(o.json), verbose: Boolean(o.verbose), quiet: Boolean(o.quiet), color: colorWanted(o.color, env, isTTY) };
}

/**
 * Run the CLI; returns the process exit code instead of exiting, so tests can call it.
 * Errors print as one `error: ...` line (plus `hint: ...`), the stack only with --verbose; under
 * --json stdout also gets `{"error": {code, message, hint, exitCode}}`.
 */
export async function main(argv: string[], streams: Streams = {}): Promise<number> {
  const stdout = streams.stdout ?? process.stdout;
  const stderr = streams.stderr ?? process.stderr;
  let out: Output | undefined;
  const program: Command = buildProgram(() => (out ??= new Output(globalOptions(program), stdout, stderr)), streams);
  const flags = new Set(argv.slice(2));
  const json = flags.has('--json');
  const verbose = flags.has('--verbose') || argv.slice(2).some((a) => /^-[a-zA-Z]*v[a-zA-Z]*$/.test(a));
  const fail = (code: string, message: string, exitCode: number, hint?: string, stack?: string): number => {
    stderr.write(`error: ${message}\n`);
    if (hint) stderr.write(`hint: ${hint}\n`);
    if (stack) stderr.write(verbose ? `${stack}\n` : '(run with --verbose for the stack trace)\n');
    if (json) stdout.write(JSON.stringify({ error: { code, message, hint: hint ?? null, exitCode } }) + '\n');
    return exitCode;
  };
  try {
    await program.parseAsync(argv);
    return out?.exitCode ?? ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.ok;
      // No command given: commander printed the help on stderr and asks for a failure code.
      if (err.code === 'commander.help') return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      const message = err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
      return fail(err.code.replace(/^commander\./, 'USAGE_').toUpperCase(), `${message} (see \`tsx-hv --help\`)`, ExitCode.usage);
    }
    if (err instanceof TsxHvError) {
      const message = err.message;
      return fail(err.code, message, err.exitCode, err.hint, verbose ? err.stack : undefined);
    }
    const e = err instanceof Error ? err : new Error(String(err));
    return fail('INTERNAL', e.message, ExitCode.error, undefined, e.stack);
  }
}
