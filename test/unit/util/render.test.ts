import t from 'tap';
import { bigintReplacer, table, visibleLength } from '../../../src/util/render.js';

t.test('tables align columns, ignoring colour codes, without trailing spaces', async (t) => {
  const red = '\u001b[31mmissing\u001b[0m';
  t.equal(table([['TOOL', 'STATUS', 'X'], ['qemu', red, 'y'], ['a-long-name', 'ok', '']]), ['TOOL         STATUS   X', `qemu         ${red}  y`, 'a-long-name  ok'].join('\n'));
});

t.test('a table of rows of different lengths pads only the columns a row has', async (t) => {
  t.equal(table([['a', 'bb', 'c'], ['dddd']]), 'a     bb  c\ndddd');
  t.equal(table([]), '');
});

t.test('colour codes take no room on the screen', async (t) => {
  t.equal(visibleLength('\u001b[1;32mok\u001b[0m'), 2);
  t.equal(visibleLength('plain'), 5);
});

t.test('bigints become decimal strings in JSON; everything else is unchanged', async (t) => {
  t.equal(JSON.stringify({ tsc: 12345678901234567890n, n: 5, s: 'x' }, bigintReplacer), '{"tsc":"12345678901234567890","n":5,"s":"x"}');
  t.equal(bigintReplacer('k', 5), 5);
  t.equal(bigintReplacer('k', null), null);
});
