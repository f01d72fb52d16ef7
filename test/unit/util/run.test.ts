import t from 'tap';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InterruptedError, MissingToolError, TimeoutError, ToolFailedError } from '../../../src/errors.js';
import type { ProgramTool } from '../../../src/doctor/catalog.js';
import { NODE, run, runProgram } from '../../../src/util/run.js';

t.test('returns stdout, stderr and the exit code of a program that succeeds', async (t) => {
  const r = await runProgram('sh', ['-c', 'echo out; echo err >&2']);
  t.same(r, { stdout: 'out', stderr: 'err', exitCode: 0 });
});

t.test('passes arguments as an array, never through a shell', async (t) => {
  const r = await runProgram('printf', ['%s|', 'a b', '$HOME', ';rm -rf /']);
  t.equal(r.stdout, 'a b|$HOME|;rm -rf /|');
});

t.test('a failing program throws ToolFailedError with its exit code and stderr tail', async (t) => {
  const err = await runProgram('sh', ['-c', 'echo first >&2; echo boom >&2; exit 3'], { hint: 'try again' }).catch((e) => e);
  t.type(err, ToolFailedError);
  t.equal(err.programExitCode, 3);
  t.match(err.message, /^sh failed \(exit 3\):\nfirst\nboom$/);
  t.equal(err.hint, 'try again');
});

t.test('stdout is the detail when a failing program wrote nothing to stderr', async (t) => {
  const err = await runProgram('sh', ['-c', 'echo only-stdout; exit 4']).catch((e) => e);
  t.match(err.message, /exit 4\):\nonly-stdout/);
});

t.test('allowFailure returns the result of a non-zero exit', async (t) => {
  const r = await runProgram('sh', ['-c', 'echo x; exit 5'], { allowFailure: true });
  t.same(r, { stdout: 'x', stderr: '', exitCode: 5 });
});

t.test('a program that is not installed throws MissingToolError (exit 77)', async (t) => {
  const err = await runProgram('tsx-hv-no-such-program', []).catch((e) => e);
  t.type(err, MissingToolError);
  t.equal(err.exitCode, 77);
  t.equal(err.tool, 'tsx-hv-no-such-program');
});

t.test('the timeout option stops the program and throws TimeoutError (exit 124)', async (t) => {
  const started = Date.now();
  const err = await runProgram('sleep', ['30'], { timeout: 200 }).catch((e) => e);
  t.type(err, TimeoutError);
  t.equal(err.exitCode, 124);
  t.match(err.message, /sleep did not finish within 200 ms/);
  t.ok(Date.now() - started < 20_000, 'did not wait for sleep to finish');
});

t.test('a program killed by a signal names the signal', async (t) => {
  const err = await runProgram('sh', ['-c', 'kill -TERM $$']).catch((e) => e);
  t.type(err, ToolFailedError);
  t.match(err.message, /^sh failed \(killed by SIGTERM\)/);
});

t.test('a file that cannot be executed is a ToolFailedError that says why', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'found-run-'));
  const file = join(dir, 'not-executable');
  await writeFile(file, '#!/bin/sh\necho hi\n');
  await chmod(file, 0o644);
  const err = await runProgram(file, []).catch((e) => e);
  t.type(err, ToolFailedError);
  t.match(err.message, /EACCES/);
});

t.test('line-split output (execa lines option) is joined back into text', async (t) => {
  const r = await runProgram('printf', ['a\\nb\\n'], { lines: true });
  t.equal(r.stdout, 'a\nb');
});

t.test('output that is not captured is reported as empty text', async (t) => {
  const r = await runProgram('true', [], { stdout: 'ignore', stderr: 'ignore' });
  t.same(r, { stdout: '', stderr: '', exitCode: 0 });
});

t.test('a program gets no stdin by default, and the given input otherwise', async (t) => {
  t.equal((await runProgram('cat', [])).stdout, '', 'cat sees end-of-file at once');
  t.equal((await runProgram('cat', [], { input: 'fed through stdin' })).stdout, 'fed through stdin');
  t.equal((await runProgram('cat', [], { stdin: 'pipe', input: 'both given' })).stdout, 'both given');
  t.equal((await runProgram('sh', ['-c', 'echo via stdio'], { stdio: 'pipe' })).stdout, 'via stdio');
});

t.test('run() finds catalog programs through the catalog and names them as given in errors', async (t) => {
  const r = await run('diff', ['-u', '/dev/null', '/dev/null']);
  t.equal(r.exitCode, 0);
  const err = await run('diff', ['/nonexistent-a', '/nonexistent-b']).catch((e) => e);
  t.type(err, ToolFailedError);
  t.match(err.message, /^diff failed \(exit 2\)/);
  t.equal((await run(NODE, ['-e', 'process.stdout.write("node")'])).stdout, 'node', 'an absolute path runs as is');
});

t.test('run() of a catalog program that is not installed: exit 77 naming the package', async (t) => {
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  t.teardown(() => void (process.env.PATH = saved));
  const err = await run('diff', ['a', 'b']).catch((e) => e);
  t.type(err, MissingToolError);
  t.equal(err.tool, 'diff');
  t.match(err.hint, /install the package diffutils/);
});

t.test('run() refuses a name that is not in the catalog: doctor would not know it', async (t) => {
  await t.rejects(run('sh' as ProgramTool, []), { name: 'TypeError', message: /"sh" is not a program in the doctor catalog/ });
});

t.test('an abort signal stops the program and throws its reason; an aborted signal runs nothing', async (t) => {
  const controller = new AbortController();
  const started = Date.now();
  const pending = runProgram('sleep', ['30'], { signal: controller.signal });
  setTimeout(() => controller.abort(new InterruptedError('interrupted by SIGINT')), 100);
  const err = await pending.catch((e) => e);
  t.type(err, InterruptedError);
  t.equal(err.exitCode, 130);
  t.equal(err.message, 'interrupted by SIGINT');
  t.ok(Date.now() - started < 20_000, 'did not wait for sleep to finish');
  await t.rejects(run('diff', ['/dev/null', '/dev/null'], { signal: controller.signal }), InterruptedError, 'checked before starting');
  const plain = new AbortController();
  const pendingPlain = runProgram('sleep', ['30'], { signal: plain.signal });
  setTimeout(() => plain.abort(), 100);
  const stopped = await pendingPlain.catch((e) => e);
  t.type(stopped, InterruptedError, 'an abort without an Error reason is still an interruption');
  t.match(stopped.message, /^sleep was stopped: interrupted/);
});
