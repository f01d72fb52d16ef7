import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyState, loadState, parseState, record, saveState, upToDate } from '../../../src/builder/state.js';

t.test('unreadable or foreign state means nothing was built', async (t) => {
  t.same(parseState(''), emptyState());
  t.same(parseState('{"version":2,"steps":{}}'), emptyState());
  t.same(parseState('{"version":1}'), emptyState());
  t.same(parseState('[1,'), emptyState());
});

t.test('a step is up to date only with the same inputs and all outputs present', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'state-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'out.bin');
  const s = emptyState();
  t.notOk(await upToDate(s, 'x', 'h1', [out]));
  record(s, 'x', 'h1', new Date(0));
  t.equal(s.steps.x!.builtAt, '1970-01-01T00:00:00.000Z');
  t.notOk(await upToDate(s, 'x', 'h1', [out]), 'output missing');
  await writeFile(out, '');
  t.ok(await upToDate(s, 'x', 'h1', [out]));
  t.notOk(await upToDate(s, 'x', 'h2', [out]), 'inputs changed');
  const path = join(dir, 'sub', 'state.json');
  await saveState(path, s);
  t.same(await loadState(path), s);
  t.same(await loadState(join(dir, 'missing.json')), emptyState());
});
