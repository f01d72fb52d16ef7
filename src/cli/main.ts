import { Command, CommanderError, Option } from 'commander';
import { ExitCode, TsxHvError } from '../errors.js';
import { Output, colorWanted, type GlobalOptions } from './output.js';

/**
 * Each command lives in its own file in src/cli/ and registers itself here. A command file only
 * parses arguments and prints; the work is done by library functions in src/.
 */
export type Register = (program: Command, output: () => Output) => void;

const commands: Register[] = [];

export function buildProgram(output: () => Output): Command {
  const program = new Command('tsx-hv')
    .description('Make a whole OS perceive time N times faster or slower: build, flash, provision and measure the tsx-hv hypervisor.')
    .version(process.env.npm_package_version ?? '0.1.0', '-V, --version')
    .addOption(new Option('--json', 'machine-readable output on stdout (one JSON document or NDJSON events)'))
    .addOption(new Option('-v, --verbose', 'more detail, and stack traces on errors'))
    .addOption(new Option('-q, --quiet', 'print only errors and results'))
    .addOption(new Option('--no-color', 'no colours (also when NO_COLOR is set)'))
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
  program.addHelpText(
    'after',
    `
Examples:
  $ tsx-hv doctor                 check this machine for everything tsx-hv needs
  $ tsx-hv doctor --install       install what is missing (Debian/Ubuntu)

Exit codes are documented in docs/cli.md.`,
  );
  for (const register of commands) register(program, output);
  for (const sub of program.commands) sub.exitOverride().configureOutput({ outputError: () => undefined });
  return program;
}

export function globalOptions(program: Command, env: NodeJS.ProcessEnv = process.env, isTTY = Boolean(process.stdout.isTTY)): GlobalOptions {
  const o = program.opts<{ json?: boolean; verbose?: boolean; quiet?: boolean; color?: boolean }>();
  return { json: Boolean(o.json), verbose: Boolean(o.verbose), quiet: Boolean(o.quiet), color: colorWanted(o.color, env, isTTY) };
}

/** Run the CLI; returns the process exit code instead of exiting, so tests can call it. */
export async function main(argv: string[], streams: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream } = {}): Promise<number> {
  const stderr = streams.stderr ?? process.stderr;
  let out: Output | undefined;
  const program: Command = buildProgram(() => (out ??= new Output(globalOptions(program), streams.stdout, streams.stderr)));
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (err) {
    const verbose = argv.includes('--verbose') || argv.includes('-v');
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      stderr.write(`error: ${err.message.replace(/^error: /, '')}\n(see \`tsx-hv --help\`)\n`);
      return ExitCode.usage;
    }
    if (err instanceof TsxHvError) {
      stderr.write(`error: ${err.message}\n`);
      if (err.hint) stderr.write(`hint: ${err.hint}\n`);
      if (verbose && err.stack) stderr.write(err.stack + '\n');
      return err.exitCode;
    }
    const e = err as Error;
    stderr.write(`error: ${e?.message ?? String(err)}\n`);
    if (verbose && e?.stack) stderr.write(e.stack + '\n');
    else stderr.write('(run with --verbose for the stack trace)\n');
    return ExitCode.error;
  }
}
