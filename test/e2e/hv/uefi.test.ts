/**
 * Linux under tsx-hv booted by UEFI firmware (OVMF) reaches the guest agent, with a PCI device
 * whose 64-bit BAR OVMF places in its 64-bit MMIO window above RAM (QEMU's xHCI controller:
 * 0xE000000000 with 40 physical address bits). That window is in no memory map; before nested
 * paging covered the whole physical address space the guest's first access to it (Linux's
 * early USB hand-off quirk reading the xHCI capability registers) was a fatal nested page
 * fault. The boot time is printed, not asserted.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { bootToAgent, guestExec, panics } from './fixtures.js';
import { OVMF_CODE } from '../../../src/engines/qemu-args.js';
import { settledClocksource } from '../../../src/engines/smoke.js';

const FOUR_GIB = 2n ** 32n;

if (!existsSync(OVMF_CODE)) {
  t.skip(`no UEFI firmware at ${OVMF_CODE} (Debian package ovmf)`);
} else {
  const hv = await bootToAgent(t, { firmware: 'uefi', extraArgs: ['-device', 'qemu-xhci'] });
  t.comment(`UEFI boot to agent ready under tsx-hv (firmware, GRUB and Linux): ${(hv.bootMs / 1000).toFixed(1)} s`);

  t.test('the guest agent comes up under the hypervisor with UEFI firmware', async (t) => {
    t.equal(hv.ready.hypervisor, 'tsx-hv-vtime', 'CPUID 0x40000000 signature seen by the guest');
    // Linux starts on tsc-early and registers tsc once its calibration is refined; on a loaded
    // host the agent can be ready before that (CI, 2026-12-01): the settled one counts.
    t.equal(hv.ready.clocksource === 'tsc' ? 'tsc' : await settledClocksource(hv.m, 30_000), 'tsc', 'guest clocksource');
    const npt = hv.m.hvLog.find((l) => l.startsWith('# tsx-hv: nested paging: identity map'));
    t.ok(npt, 'the hypervisor logs the extent of nested paging');
    t.comment(npt ?? '');
    t.same(panics(hv.m), []);
  });

  t.test('a 64-bit BAR above RAM is reachable from the guest', async (t) => {
    const { m } = hv;
    // /sys/bus/pci/devices/*/resource: "start end flags" per BAR, hexadecimal.
    const res = await guestExec(m, 'for d in /sys/bus/pci/devices/*; do echo "$(cat $d/vendor):$(cat $d/device) $(head -1 $d/resource)"; done');
    t.equal(res.exit, 0, 'the guest lists its PCI devices');
    const xhci = res.out.split('\n').find((l) => l.startsWith('0x1b36:0x000d'));
    t.ok(xhci, `QEMU's xHCI controller (1b36:000d) is on the bus${xhci ? '' : `:\n${res.out}`}`);
    const bar = BigInt(xhci?.split(' ')[1] ?? '0');
    t.ok(bar >= FOUR_GIB, `OVMF placed its BAR 0 above 4 GiB and above RAM: 0x${bar.toString(16)}`);
    const npt = hv.m.hvLog.find((l) => l.startsWith('# tsx-hv: nested paging: identity map')) ?? '';
    const end = BigInt(`0x${/identity map 0-([0-9a-f]+)/.exec(npt)?.[1] ?? '0'}`);
    t.ok(end > bar, `the nested identity map (to 0x${end.toString(16)}) covers it`);
    // CAPLENGTH (byte 0) and HCIVERSION (bytes 2-3) of the xHCI capability registers.
    const cap = await guestExec(m, `devmem 0x${bar.toString(16)} 32`);
    t.equal(cap.exit, 0, `devmem read of the BAR: ${cap.out}`);
    const word = Number(cap.out.trim());
    t.ok(word !== 0 && word !== 0xffffffff, `the guest reads the device's registers: 0x${word.toString(16)}`);
    t.equal(word >>> 16, 0x100, 'HCIVERSION 1.0 (QEMU xHCI)');
    t.match(await m.agent('clock'), /mono=\d+/, 'guest still answers');
    t.same(panics(m), []);
    await m.powerOff();
  });
}
