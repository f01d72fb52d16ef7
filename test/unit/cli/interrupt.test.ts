import t from 'tap';
import { Writable } from 'node:stream';
import { interruptOnSignals } from '../../../src/cli/interrupt.js';
import { InterruptedError } from '../../../src/errors.js';

function sink(): { stream: Writable; text: () => string } {
  let buf = '';
  const stream = new Writable({ write(chunk, _enc, cb) { buf += String(chunk); cb(); } });
  return { stream, text: () => buf };
}

/** Sends a real signal to this process and lets its handlers run. */
async function raise(signal: NodeJS.Signals): Promise<void> {
  process.kill(process.pid, signal);
  await new Promise((r) => setTimeout(r, 50));
}

t.test('the first SIGINT aborts with an InterruptedError naming it; later ones only say to wait', async (t) => {
  const err = sink();
  const interrupt = interruptOnSignals(err.stream, 'rolling back');
  t.teardown(interrupt.dispose);
  t.equal(interrupt.signal.aborted, false);
  await raise('SIGINT');
  t.equal(interrupt.signal.aborted, true);
  t.type(interrupt.signal.reason, InterruptedError);
  t.equal(interrupt.signal.reason.message, 'interrupted by SIGINT');
  t.equal(interrupt.signal.reason.exitCode, 130);
  await raise('SIGTERM');
  t.equal(interrupt.signal.reason.message, 'interrupted by SIGINT', 'the first signal is the reason');
  t.equal(err.text(), '\nSIGINT: stopping; rolling back ...\nSIGTERM: still rolling back; please wait\n');
});

t.test('SIGTERM counts the same; dispose() removes the handlers', async (t) => {
  const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
  const interrupt = interruptOnSignals(sink().stream, 'cleaning up');
  t.same([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')], [before[0]! + 1, before[1]! + 1]);
  await raise('SIGTERM');
  t.equal(interrupt.signal.reason.message, 'interrupted by SIGTERM');
  interrupt.dispose();
  t.same([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')], before);
});
