/**
 * The bound hotkeys never reach the guest. Inside the guest the first virtual console
 * (/dev/tty1; the console proper is on ttyS0) is put into scan code mode (KDSKBMODE K_RAW,
 * `tsx-hv-agent keys`), and QMP send-key types an unbound key, the bound Ctrl+Alt+F12, an
 * unbound Ctrl+Alt+F9 (the same path for an F-key the hypervisor does not own) and an end
 * marker. The guest must see every scan code of the unbound keys and, of the hotkey, only
 * Ctrl and Alt: F12's press (0x58) and release are replaced by the substitute docs/hypervisor.md
 * describes (F12's release code 0xD8, one keyboard interrupt per swallowed byte), which Linux
 * drops before even a raw-mode console sees it. The hypervisor logs the toggle.
 */
import t from 'tap';
import { bootToAgent, guestExec, panics } from './fixtures.js';

const SECONDS = 60;
const F12_MAKE = 0x58;
const F12_BREAK = 0xd8;
const EXPECTED = [0x1e, 0x9e, 0x1d, 0x38, 0xb8, 0x9d, 0x1d, 0x38, 0x43, 0xc3, 0xb8, 0x9d, 0x30, 0xb0];

const hv = await bootToAgent(t);

async function keysSoFar(): Promise<{ started: boolean; codes: number[]; raw: string }> {
  const r = await guestExec(hv.m, 'cat /tmp/keys');
  const lines = r.out.split('\n').filter((l) => l.length > 0);
  return {
    started: lines.includes('keys: raw'),
    codes: lines.filter((l) => /^[0-9a-f]{2}$/.test(l)).map((l) => parseInt(l, 16)),
    raw: r.out,
  };
}

/** Keyboard interrupts (IRQ 1, i8042) the guest has taken. */
async function keyboardInterrupts(): Promise<number> {
  const r = await guestExec(hv.m, "awk '$1 == \"1:\" { print $2 }' /proc/interrupts");
  return Number(r.out.trim());
}

async function until(what: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await what()) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return what();
}

const hex = (codes: number[]): string => codes.map((c) => c.toString(16).padStart(2, '0')).join(' ');

t.test('Ctrl+Alt+F12 toggles the speed and its scan codes never reach the guest', async (t) => {
  const { m } = hv;
  const start = await guestExec(m, `/sbin/tsx-hv-agent keys /dev/tty1 ${SECONDS} >/tmp/keys 2>&1 </dev/null &`);
  t.equal(start.exit, 0, `keys helper started in the background ${start.out}`);
  t.ok(await until(async () => (await keysSoFar()).started, 20_000), 'tty1 is in scan code mode');
  const logFrom = m.hvLog.length;

  await m.sendKeys(['a']);
  await new Promise((r) => setTimeout(r, 1000));
  const irqBefore = await keyboardInterrupts();
  await m.sendKeys(['ctrl', 'alt', 'f12']);
  await new Promise((r) => setTimeout(r, 1000));
  const irqHotkey = (await keyboardInterrupts()) - irqBefore;
  await m.sendKeys(['ctrl', 'alt', 'f9']);
  await new Promise((r) => setTimeout(r, 500));
  await m.sendKeys(['b']);
  const seen = await until(async () => (await keysSoFar()).codes.includes(0xb0), 30_000);
  const { codes, raw } = await keysSoFar();
  t.ok(seen, `the end marker arrived (b: 30 b0)${seen ? '' : `\n${raw}`}`);
  t.comment(`scan codes seen by the guest: ${hex(codes)}`);

  t.notOk(codes.includes(F12_MAKE), 'the press code of F12 (0x58) never reaches the guest');
  t.notOk(codes.includes(F12_BREAK), 'nor its release code (0xd8), nor the substitutes');
  t.same(codes, EXPECTED, "exactly: 'a' (1e 9e), Ctrl Alt of the hotkey (1d 38 b8 9d), Ctrl+Alt+F9 (1d 38 43 c3 b8 9d), 'b' (30 b0)");
  t.equal(irqHotkey, 6, 'the guest still took one keyboard interrupt for each of the 6 bytes of Ctrl+Alt+F12');

  const toggles = m.hvLog.slice(logFrom).filter((l) => l.startsWith('# tsx-hv: hotkey toggle'));
  t.equal(toggles.length, 1, `the hypervisor logged one toggle: ${toggles.join('; ')}`);
  t.same(panics(m), []);
  await m.powerOff();
});
