import t from 'tap';
import { InterruptedError, TimeoutError } from '../../../src/errors.js';
import { interruption, throwIfInterrupted, untilAborted } from '../../../src/util/abort.js';

t.test('the reason of an abort by the CLI (an InterruptedError naming the signal) is kept', async (t) => {
  const c = new AbortController();
  c.abort(new InterruptedError('interrupted by SIGTERM'));
  t.equal(interruption(c.signal).message, 'interrupted by SIGTERM');
  t.throws(() => throwIfInterrupted(c.signal), { message: 'interrupted by SIGTERM', exitCode: 130 });
});

t.test('any other of our errors as the reason is kept too', async (t) => {
  const c = new AbortController();
  c.abort(new TimeoutError('too slow'));
  t.equal(interruption(c.signal).exitCode, 124);
});

t.test('a bare abort() (a DOMException reason) becomes an InterruptedError, exit 130', async (t) => {
  const c = new AbortController();
  c.abort();
  const e = interruption(c.signal, 'make was stopped');
  t.type(e, InterruptedError);
  t.equal(e.message, 'make was stopped');
  t.equal(interruption(c.signal).message, 'interrupted');
});

t.test('no signal, or one not aborted: nothing is thrown', async (t) => {
  t.doesNotThrow(() => throwIfInterrupted(undefined));
  t.doesNotThrow(() => throwIfInterrupted(new AbortController().signal));
});

t.test('untilAborted waits (keeping the process alive) until the abort, then rejects with it', async (t) => {
  const c = new AbortController();
  let settled = false;
  const waiting = untilAborted(c.signal).catch((e) => {
    settled = true;
    return e;
  });
  await new Promise((r) => setTimeout(r, 50));
  t.equal(settled, false, 'still waiting before the abort');
  c.abort(new InterruptedError('interrupted by SIGINT'));
  t.equal((await waiting).message, 'interrupted by SIGINT');
  const done = new AbortController();
  done.abort();
  await t.rejects(untilAborted(done.signal), InterruptedError, 'an already aborted signal rejects at once');
});
