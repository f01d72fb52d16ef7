import t from 'tap';
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../../../src/builder/layout.js';
import { BASELINE_ENTRY_TITLE, SELECT_SECOND_ENTRY, chooseBaselineEntry, visibleText } from '../../../src/engines/grub-menu.js';
import type { MachineConsoleEvents } from '../../../src/engines/machine.js';
import { TimeoutError } from '../../../src/errors.js';

/** GRUB 2.06's menu on a serial terminal as Bochs' COM1 carried it (cut into pieces at random places). */
const MENU =
  '\u001b[H\u001b[J\u001b[1;1Herror: failed to retrieve the structure field.\r\n' +
  '\u001b[?25l\u001b[m\u001b[H\u001b[J\u001b[1;1H\u001b[2;24HGNU GRUB  version 2.06-13+deb12u2\r\n\r\n' +
  '\u001b[m\u001b[4;2H+----+\u001b[5;2H|\u001b[5;79H|\u001b[19;2H\u001b[m     Use the ^ and v keys to select which entry is highlighted.\r\n' +
  '\u001b[5;80H \u001b[7m\u001b[5;3H*tsx-hv: Linux under the time-acceleration hypervisor       \u001b[m\u001b[5;78H\u001b[m\u001b[m' +
  '\u001b[6;3H Linux without the hypervisor (baseline)                    \u001b[m\u001b[6;78H\u001b[m\u001b[m' +
  '\u001b[22;1H   The highlighted entry will be executed automatically in 1s.';

function machine(): { console: EventEmitter<MachineConsoleEvents>; written: string[]; stop: () => void; stopped: Promise<void> } {
  const console = new EventEmitter<MachineConsoleEvents>();
  const written: string[] = [];
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  return { console, written, stop, stopped };
}

t.test('the baseline title is the second entry of the media menu', async (t) => {
  const template = await readFile(join(packageRoot(), 'images', 'media', 'grub.cfg.in'), 'utf8');
  const titles = [...template.matchAll(/^menuentry "([^"]+)"/gm)].map((m) => m[1]);
  t.same(titles[1], BASELINE_ENTRY_TITLE);
  t.equal(titles.length, 2, 'one down arrow reaches it');
});

t.test('control sequences are dropped from the console text', async (t) => {
  t.equal(visibleText('\u001b[6;3H Linux\u001b[m\u001b[?25h\u001b(B!'), ' Linux!');
  t.match(visibleText(MENU), BASELINE_ENTRY_TITLE);
});

t.test('types down and Enter once the menu shows the baseline entry, however the output is cut', async (t) => {
  for (const size of [1, 7, 64, MENU.length]) {
    const m = machine();
    const chosen = chooseBaselineEntry(m.console, (text) => m.written.push(text), m.stopped, 5000);
    for (let i = 0; i < MENU.length; i += size) {
      m.console.emit('data', Buffer.from(MENU.slice(i, i + size), 'latin1'));
      if (i + size < MENU.length && MENU.slice(0, i + size).includes(BASELINE_ENTRY_TITLE)) break;
    }
    await chosen;
    t.same(m.written, [SELECT_SECOND_ENTRY], `chunks of ${size}`);
    t.equal(m.console.listenerCount('data'), 0, 'stops listening');
  }
  t.equal(SELECT_SECOND_ENTRY, '\u001b[B\r', 'VT100 down arrow, Enter');
});

t.test('gives up when the menu does not appear, or the machine stops first', async (t) => {
  const slow = machine();
  slow.console.emit('data', Buffer.from('SeaBIOS (version 1.16)\r\n'));
  await t.rejects(chooseBaselineEntry(slow.console, () => undefined, slow.stopped, 50), TimeoutError);
  t.equal(slow.console.listenerCount('data'), 0);
  const dead = machine();
  const chosen = chooseBaselineEntry(dead.console, () => undefined, dead.stopped, 5000);
  dead.stop();
  await t.rejects(chosen, { code: 'ENGINE_EXITED', message: /stopped before GRUB's menu appeared/ });
});
