import t from 'tap';
import { PassThrough } from 'node:stream';
import { askDeviceName } from '../../../src/media/confirm.js';
import type { DriveCard } from '../../../src/media/card.js';

const card = { name: 'sdz', path: '/dev/sdz' } as DriveCard;

async function answer(text: string | null): Promise<{ ok: boolean; prompt: string }> {
  const input = new PassThrough();
  const output = new PassThrough();
  let prompt = '';
  output.on('data', (c: Buffer) => (prompt += c.toString()));
  const pending = askDeviceName(card, input, output);
  if (text === null) input.end();
  else input.write(text);
  return { ok: await pending, prompt };
}

t.test('typing the device name or path confirms', async (t) => {
  const r = await answer('sdz\n');
  t.equal(r.ok, true);
  t.match(r.prompt, 'Type the device name (sdz) to erase it');
  t.equal((await answer('  /dev/sdz \n')).ok, true);
});

t.test('anything else, or end of input, cancels', async (t) => {
  t.equal((await answer('yes\n')).ok, false);
  t.equal((await answer('sdy\n')).ok, false);
  t.equal((await answer(null)).ok, false);
});
