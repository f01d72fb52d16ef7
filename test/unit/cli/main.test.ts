import t from 'tap';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { buildProgram, main, type Register } from '../../../src/cli/main.js';
import { Output } from '../../../src/cli/output.js';
import { TsxHvError, UsageError } from '../../../src/errors.js';

function sink(): { stream: Writable; text: () => string } {
  let buf = '';
  const stream = new Writable({ write(chunk, _enc, cb) { buf += String(chunk); cb(); } });
  return { stream, text: () => buf };
}

async function cli(args: string[], commands?: Register[]): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const code = await main(['node', 'tsx-hv', ...args], { stdout: out.stream, stderr: err.stream, commands });
  return { code, out: out.text(), err: err.text() };
}

/** A command for exercising error rendering: throws what it is told to. */
const thrower: Register = (program, output) => {
  program.command('throw <kind>').action((kind: string) => {
    output();
    if (kind === 'usage') throw new UsageError('--speed must be a number', 'for example --speed 60');
    if (kind === 'typed') throw new TsxHvError('BOOM', 'the machine caught fire', { exitCode: 42 });
    if (kind === 'plain') throw new Error('an unexpected bug');
    throw 'a string'; // eslint-disable-line no-throw-literal
  });
};

t.test('an unknown flag gives a one-line error and exit code 2', async (t) => {
  const r = await cli(['--bogus']);
  t.equal(r.code, 2);
  t.equal(r.err, "error: unknown option '--bogus' (see `tsx-hv --help`)\n");
  t.equal(r.out, '');
});

t.test('a misspelt flag gets the suggestion on the same line', async (t) => {
  const r = await cli(['doctor', '--jsn']);
  t.equal(r.code, 2);
  t.equal(r.err.trim().split('\n').length, 1);
  t.match(r.err, /unknown option '--jsn' \(Did you mean --json\?\)/);
});

t.test('an unknown command and extra arguments are usage errors (2)', async (t) => {
  const unknown = await cli(['frobnicate']);
  t.equal(unknown.code, 2);
  t.match(unknown.err, /^error: unknown command 'frobnicate'/);
  const extra = await cli(['doctor', 'extra']);
  t.equal(extra.code, 2);
  t.match(extra.err, /too many arguments for 'doctor'/);
});

t.test('usage errors under --json also print an error document on stdout', async (t) => {
  const r = await cli(['--json', '--bogus']);
  t.equal(r.code, 2);
  t.same(JSON.parse(r.out), { error: { code: 'USAGE_UNKNOWNOPTION', message: "unknown option '--bogus' (see `tsx-hv --help`)", hint: null, exitCode: 2 } });
});

t.test('no command: the help on stderr and exit 2', async (t) => {
  const r = await cli([]);
  t.equal(r.code, 2);
  t.match(r.err, /^Usage: tsx-hv \[options\] \[command\]/);
  t.equal(r.out, '');
});

t.test('--help and help print the help on stdout and exit 0', async (t) => {
  for (const args of [['--help'], ['help'], ['help', 'doctor']]) {
    const r = await cli(args);
    t.equal(r.code, 0, args.join(' '));
    t.match(r.out, /Usage: tsx-hv/);
    t.match(r.out, /Examples:\n {2}\$ tsx-hv /);
  }
});

t.test('every command has help text with examples', async (t) => {
  const program = buildProgram(() => {
    throw new Error('not used');
  });
  t.ok(program.commands.length >= 1);
  for (const command of program.commands) {
    const r = await cli([command.name(), '--help']);
    t.equal(r.code, 0, command.name());
    t.match(r.out, /\nExamples:\n {2}\$ tsx-hv /, `${command.name()} --help shows examples`);
  }
});

t.test('--version prints the version from package.json', async (t) => {
  const r = await cli(['--version']);
  t.equal(r.code, 0);
  t.equal(r.out.trim(), JSON.parse(readFileSync('package.json', 'utf8')).version);
});

t.test('a typed error prints error and hint lines and returns its exit code, no stack', async (t) => {
  const usage = await cli(['throw', 'usage'], [thrower]);
  t.equal(usage.code, 2);
  t.equal(usage.err, 'error: --speed must be a number\nhint: for example --speed 60\n');
  const typed = await cli(['throw', 'typed'], [thrower]);
  t.equal(typed.code, 42);
  t.equal(typed.err, 'error: the machine caught fire\n');
});

t.test('--verbose adds the stack trace of a typed error', async (t) => {
  const r = await cli(['--verbose', 'throw', 'typed'], [thrower]);
  t.match(r.err, /^error: the machine caught fire\nTsxHvError: the machine caught fire\n\s+at /);
  const combined = await cli(['-qv', 'throw', 'typed'], [thrower]);
  t.match(combined.err, /\n\s+at /, '-qv counts as verbose');
});

t.test('an unexpected error is exit 1, with the stack only under --verbose', async (t) => {
  const quiet = await cli(['throw', 'plain'], [thrower]);
  t.equal(quiet.code, 1);
  t.equal(quiet.err, 'error: an unexpected bug\n(run with --verbose for the stack trace)\n');
  const verbose = await cli(['throw', 'plain', '--verbose'], [thrower]);
  t.match(verbose.err, /^error: an unexpected bug\nError: an unexpected bug\n\s+at /);
  const odd = await cli(['--json', 'throw', 'string'], [thrower]);
  t.equal(odd.code, 1);
  t.same(JSON.parse(odd.out).error, { code: 'INTERNAL', message: 'a string', hint: null, exitCode: 1 });
});

t.test('a command sets a non-zero exit code through its Output', async (t) => {
  const failing: Register = (program, output) => {
    program.command('check').action(() => {
      const out: Output = output();
      out.info('1 check failed');
      out.exitCode = 1;
    });
  };
  const r = await cli(['check'], [failing]);
  t.same([r.code, r.out], [1, '1 check failed\n']);
});

t.test('no command sets process.exitCode: the bin shim sets it from main(), which would overwrite it', async (t) => {
  const { readdirSync } = await import('node:fs');
  const files = readdirSync('src', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  t.ok(files.length > 50, 'the scan sees the sources');
  for (const f of files) t.notMatch(readFileSync(`src/${f}`, 'utf8'), /process\.exitCode\s*=[^=]/, `src/${f} leaves the exit code to Output.exitCode`);
  t.match(readFileSync('bin/tsx-hv.js', 'utf8'), /process\.exitCode = await main\(process\.argv\);/, 'the shim takes main()\'s result');
});
