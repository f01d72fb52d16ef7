/**
 * Choosing the media's baseline entry by typing into GRUB's menu on the guest console, for
 * engines that cannot set the SMBIOS system SKU the menu checks (Bochs: its BIOS builds fixed
 * SMBIOS tables). The media's GRUB reads the first serial port as well as the keyboard
 * (images/media/grub.cfg.in: `terminal_input serial console`) and draws its menu there.
 */
import type { EventEmitter } from 'node:events';
import { TimeoutError, TsxHvError } from '../errors.js';
import type { MachineConsoleEvents } from './machine.js';

/** The title of the baseline entry in images/media/grub.cfg.in, the second of the menu. */
export const BASELINE_ENTRY_TITLE = 'Linux without the hypervisor (baseline)';

/** The down arrow as a VT100 terminal sends it (GRUB's terminfo input reads ESC [ B), then Enter. */
export const SELECT_SECOND_ENTRY = '\u001b[B\r';

/** ANSI/VT100 control sequences GRUB draws its menu with (cursor moves, colours, modes). */
const CONTROL_SEQUENCE = /\u001b(?:\[[0-9;?]*[A-Za-z]|[()][A-Za-z0-9]|[A-Za-z=>])/g;

/** Console text without control sequences: what a terminal would show, minus positioning. */
export function visibleText(raw: string): string {
  return raw.replace(CONTROL_SEQUENCE, '');
}

/**
 * Waits until GRUB's menu shows the baseline entry on the console, then moves the highlight to it
 * and boots it, before the menu's timeout picks the default. Rejects when the menu does not
 * appear within `timeoutMs` or the machine stops first.
 */
export function chooseBaselineEntry(console: EventEmitter<MachineConsoleEvents>, write: (text: string) => void, stopped: Promise<unknown>, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer): void => {
      // The title may arrive split across chunks: keep a tail longer than it.
      seen = visibleText(seen + d.toString('latin1')).slice(-4096);
      if (!seen.includes(BASELINE_ENTRY_TITLE)) return;
      finish();
      write(SELECT_SECOND_ENTRY);
      resolve();
    };
    const timer = setTimeout(() => {
      finish();
      reject(new TimeoutError(`GRUB's menu with the entry "${BASELINE_ENTRY_TITLE}" did not appear on the console within ${timeoutMs} ms`, 'is the media a tsx-hv build? (tsx-hv build)'));
    }, timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      console.off('data', onData);
    };
    console.on('data', onData);
    void stopped.then(() => {
      finish();
      reject(new TsxHvError('ENGINE_EXITED', "the machine stopped before GRUB's menu appeared"));
    });
  });
}
