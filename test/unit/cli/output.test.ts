import t from 'tap';
import { Writable } from 'node:stream';
import { Output, colorWanted, type GlobalOptions } from '../../../src/cli/output.js';

function sink(): { stream: Writable; text: () => string } {
  let buf = '';
  const stream = new Writable({ write(chunk, _enc, cb) { buf += String(chunk); cb(); } });
  return { stream, text: () => buf };
}

function output(opts: Partial<GlobalOptions> = {}) {
  const out = sink();
  const err = sink();
  const o = new Output({ json: false, verbose: false, quiet: false, color: false, ...opts }, out.stream, err.stream);
  return { o, out, err };
}

t.test('info goes to stdout, or to stderr under --json, and nowhere with --quiet', async (t) => {
  const human = output();
  human.o.info('hello');
  t.same([human.out.text(), human.err.text()], ['hello\n', '']);
  const json = output({ json: true });
  json.o.info('hello');
  t.same([json.out.text(), json.err.text()], ['', 'hello\n']);
  t.equal(json.o.json, true);
  const quiet = output({ quiet: true });
  quiet.o.info('hello');
  t.same([quiet.out.text(), quiet.err.text()], ['', '']);
});

t.test('warnings always reach stderr, even with --quiet', async (t) => {
  const { o, err } = output({ quiet: true });
  o.warn('disk almost full');
  t.equal(err.text(), 'warning: disk almost full\n');
});

t.test('debug lines only with --verbose', async (t) => {
  const plain = output();
  plain.o.debug('detail');
  t.equal(plain.err.text(), '');
  const verbose = output({ verbose: true });
  verbose.o.debug('detail');
  t.equal(verbose.err.text(), 'detail\n');
});

t.test('a document is one pretty JSON value; events are one line each; bigints become strings', async (t) => {
  const { o, out } = output({ json: true });
  o.document({ tsc: 12345678901234567890n, ok: true });
  o.event({ step: 1 });
  o.event({ step: 2 });
  const text = out.text();
  t.equal(text, '{\n  "tsc": "12345678901234567890",\n  "ok": true\n}\n{"step":1}\n{"step":2}\n');
});

t.test('colours only when enabled', async (t) => {
  const on = output({ color: true }).o;
  t.equal(on.ok('ok'), '\u001b[32mok\u001b[0m');
  t.equal(on.bad('no'), '\u001b[31mno\u001b[0m');
  t.equal(on.dim('x'), '\u001b[2mx\u001b[0m');
  const off = output().o;
  t.same([off.ok('ok'), off.bad('no'), off.dim('x')], ['ok', 'no', 'x']);
  const warn = output({ color: true });
  warn.o.warn('w');
  t.equal(warn.err.text(), '\u001b[33mwarning: \u001b[0mw\n');
});

t.test('colour: --no-color and NO_COLOR win, FORCE_COLOR forces, otherwise a TTY decides', async (t) => {
  t.equal(colorWanted(undefined, {}, true), true);
  t.equal(colorWanted(undefined, {}, false), false);
  t.equal(colorWanted(true, {}, true), true);
  t.equal(colorWanted(false, {}, true), false, '--no-color');
  t.equal(colorWanted(true, { NO_COLOR: '1' }, true), false, 'NO_COLOR');
  t.equal(colorWanted(true, { NO_COLOR: '' }, true), true, 'an empty NO_COLOR does not count');
  t.equal(colorWanted(true, { FORCE_COLOR: '1' }, false), true, 'FORCE_COLOR without a TTY');
  t.equal(colorWanted(true, { FORCE_COLOR: '0' }, true), false, 'FORCE_COLOR=0');
  t.equal(colorWanted(true, { FORCE_COLOR: '1', NO_COLOR: '1' }, true), false, 'NO_COLOR beats FORCE_COLOR');
  t.equal(colorWanted(false, { FORCE_COLOR: '1' }, true), false, '--no-color beats FORCE_COLOR');
});

t.test('raw text (TAP) goes to stdout as is', async (t) => {
  const { o, out } = output();
  o.write('TAP version 14\n');
  t.equal(out.text(), 'TAP version 14\n');
});

t.test('the terminal for live progress lines is stderr only when it is a TTY', async (t) => {
  t.equal(output().o.terminal, undefined);
  const tty = Object.assign(sink().stream, { isTTY: true });
  const o = new Output({ json: false, verbose: false, quiet: false, color: false }, sink().stream, tty);
  t.equal(o.terminal, tty);
});
