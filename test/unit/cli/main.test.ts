import t from 'tap';
import { Writable } from 'node:stream';
import { main } from '../../../src/cli/main.js';

function sink(): { stream: Writable; text: () => string } {
  let buf = '';
  const stream = new Writable({ write(chunk, _enc, cb) { buf += String(chunk); cb(); } });
  return { stream, text: () => buf };
}

t.test('an unknown flag gives a one-line error and exit code 2', async (t) => {
  const err = sink();
  const code = await main(['node', 'tsx-hv', '--bogus'], { stderr: err.stream, stdout: sink().stream });
  t.equal(code, 2);
  t.match(err.text(), /^error: unknown option '--bogus'/);
});
