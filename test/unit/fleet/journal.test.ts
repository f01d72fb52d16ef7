import t from 'tap';
import { appendFile, mkdtemp, readFile, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultJournalPath, FINISHED, JournalWriter, lastResults, readJournal } from '../../../src/fleet/journal.js';

t.test('the journal lives beside the inventory, or inside an inventory directory', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsx-hv-journal-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  t.equal(defaultJournalPath(join(dir, 'lab.ini')), join(dir, 'lab.ini.tsx-hv-journal.ndjson'));
  await mkdir(join(dir, 'inventory'));
  t.equal(defaultJournalPath(join(dir, 'inventory')), join(dir, 'inventory', '.tsx-hv-journal.ndjson'));
});

t.test('lines are appended in order; a cut-off last line loses only itself; the last result per host wins', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsx-hv-journal-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'sub', 'j.ndjson');
  t.same(await readJournal(path), [], 'no journal yet: nothing finished');
  const a = new JournalWriter(path, '2026-12-02T10:00:00.000Z', 'rollout');
  await a.open();
  a.write({ event: 'step', host: 'lab1', step: 'provision', status: 'changed' });
  a.write({ event: 'result', host: 'lab1', result: 'done', speed: 10.01 });
  a.write({ event: 'result', host: 'lab2', result: 'rolled-back', reason: 'health' });
  await a.flush();
  const b = new JournalWriter(path, '2026-12-02T11:00:00.000Z', 'rollback');
  b.write({ event: 'result', host: 'lab1', result: 'rolled-back' });
  await b.flush();
  await appendFile(path, '{"run":"x","command":"rollout","event":"result","host":"lab3","res');
  const lines = await readJournal(path);
  t.equal(lines.length, 4);
  t.same(lines.map((l) => `${l.command}:${l.host}:${l.event}`), ['rollout:lab1:step', 'rollout:lab1:result', 'rollout:lab2:result', 'rollback:lab1:result']);
  const last = lastResults(lines);
  t.equal(last.get('lab1')!.result, 'rolled-back', 'a rollback after the rollout: lab1 takes part again');
  t.equal(last.get('lab1')!.run, '2026-12-02T11:00:00.000Z');
  t.equal(last.get('lab2')!.result, 'rolled-back');
  t.notOk(last.has('lab3'));
  t.ok(FINISHED.has('done') && FINISHED.has('already') && !FINISHED.has('rolled-back'));
  t.match(await readFile(path, 'utf8'), /^\{"run":"2026-12-02T10:00:00.000Z","command":"rollout","event":"step"/);
});
