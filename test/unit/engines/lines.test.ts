import t from 'tap';
import { LineSplitter } from '../../../src/engines/lines.js';

t.test('splits across chunks, drops CR before LF, keeps the unterminated tail', async (t) => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  s.push('ab');
  s.push('c\r\nde');
  s.push('f\n\nlogin: ');
  t.same(lines, ['abc', 'def', '']);
  t.equal(s.pending, 'login: ');
});

t.test('cuts over-long lines', async (t) => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l), 4);
  s.push('abcdefghij\nxy\n');
  t.same(lines, ['abcd', 'efgh', 'ij', 'xy']);
});

t.test('an endless line without a newline is delivered in pieces', async (t) => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l), 3);
  s.push('abcdefg');
  t.same(lines, ['abc', 'def']);
  t.equal(s.pending, 'g');
});
