import t from 'tap';
import { execFileSync } from 'node:child_process';
import { shellJoin, shellQuote } from '../../../src/provision/shell-quote.js';

t.test('leaves safe words alone and single-quotes the rest', async (t) => {
  t.equal(shellQuote('/etc/default/grub'), '/etc/default/grub');
  t.equal(shellQuote(''), "''");
  t.equal(shellQuote('a b'), "'a b'");
  t.equal(shellQuote("it's"), "'it'\\''s'");
});

t.test('sh reads back exactly the arguments that were quoted', async (t) => {
  const args = ['plain', 'two words', "quote ' inside", '$HOME `id` $(id)', 'new\nline', '*', ''];
  const out = execFileSync('sh', ['-c', `printf '%s\\0' ${shellJoin(args)}`]).toString();
  t.same(out.split('\0').slice(0, -1), args);
});
