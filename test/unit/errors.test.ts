import t from 'tap';
import {
  CancelledError,
  ExitCode,
  InterruptedError,
  MissingToolError,
  TimeoutError,
  ToolFailedError,
  TsxHvError,
  UsageError,
} from '../../src/errors.js';

t.test('each typed error carries its documented exit code', async (t) => {
  t.equal(new TsxHvError('X', 'plain').exitCode, ExitCode.error);
  t.equal(new UsageError('bad flag').exitCode, 2);
  t.equal(new CancelledError('declined').exitCode, 3);
  t.equal(new MissingToolError('qemu-system-x86_64').exitCode, 77);
  t.equal(new TimeoutError('too slow').exitCode, 124);
  t.equal(new InterruptedError('ctrl-c').exitCode, 130);
  t.equal(new ToolFailedError('cmake', 2, '').exitCode, 1);
});

t.test('every error is a TsxHvError with a stable code and name', async (t) => {
  const errors = [new UsageError('u'), new CancelledError('c'), new MissingToolError('m'), new TimeoutError('t'), new InterruptedError('i'), new ToolFailedError('p', 1, '')];
  t.same(
    errors.map((e) => [e instanceof TsxHvError, e.code, e.name]),
    [
      [true, 'USAGE', 'UsageError'],
      [true, 'CANCELLED', 'CancelledError'],
      [true, 'MISSING_TOOL', 'MissingToolError'],
      [true, 'TIMEOUT', 'TimeoutError'],
      [true, 'INTERRUPTED', 'InterruptedError'],
      [true, 'TOOL_FAILED', 'ToolFailedError'],
    ],
  );
});

t.test('a missing tool says how to get it, unless told otherwise', async (t) => {
  const e = new MissingToolError('bochs');
  t.equal(e.message, 'bochs is not installed');
  t.match(e.hint, /tsx-hv doctor --install/);
  t.equal(e.tool, 'bochs');
  t.equal(new MissingToolError('bochs', 'apt-get install bochs').hint, 'apt-get install bochs');
});

t.test('a failed tool names the program, its exit code and only the last 8 lines of stderr', async (t) => {
  const stderr = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
  const e = new ToolFailedError('grub-mkrescue', 1, stderr, { hint: 'check xorriso' });
  t.match(e.message, /^grub-mkrescue failed \(exit 1\):\nline 13\n/);
  t.notMatch(e.message, /line 12\n/);
  t.equal(e.stderrTail.split('\n').length, 8);
  t.equal(e.programExitCode, 1);
  t.equal(e.program, 'grub-mkrescue');
  t.equal(e.hint, 'check xorriso');
});

t.test('a tool killed by a signal says which signal, and empty stderr adds nothing', async (t) => {
  t.equal(new ToolFailedError('qemu', undefined, '', { signal: 'SIGKILL' }).message, 'qemu failed (killed by SIGKILL)');
  t.equal(new ToolFailedError('qemu', undefined, '  \n').message, 'qemu failed (killed by a signal)');
});

t.test('the cause is kept for --verbose', async (t) => {
  const cause = new Error('root cause');
  t.equal(new TsxHvError('X', 'wrapped', { cause }).cause, cause);
  t.equal(new TsxHvError('X', 'no cause').cause, undefined);
});
