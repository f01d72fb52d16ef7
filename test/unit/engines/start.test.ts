import t from 'tap';
import { checkMachineOptions, startMachine } from '../../../src/engines/start.js';
import { UsageError } from '../../../src/errors.js';

t.test('QEMU takes neither an Intel CPU nor an instruction rate', async (t) => {
  t.throws(() => checkMachineOptions({ cpuVendor: 'intel' }), { message: /QEMU TCG emulates AMD SVM only/, hint: /--engine bochs/ });
  t.throws(() => checkMachineOptions({ engine: 'qemu', ips: 50_000_000 }), /--ips sets the instruction rate of Bochs/);
  t.doesNotThrow(() => checkMachineOptions({ engine: 'qemu', cpuVendor: 'amd', firmware: 'uefi' }), 'amd is what QEMU emulates anyway');
});

t.test('Bochs takes both vendors and a valid rate, but no UEFI', async (t) => {
  t.doesNotThrow(() => checkMachineOptions({ engine: 'bochs', cpuVendor: 'intel', ips: 50_000_000 }));
  t.doesNotThrow(() => checkMachineOptions({ engine: 'bochs', cpuVendor: 'amd' }));
  t.throws(() => checkMachineOptions({ engine: 'bochs', ips: 12 }), /invalid instructions per second 12/);
  t.throws(() => checkMachineOptions({ engine: 'bochs', firmware: 'uefi' }), /Bochs boots with its BIOS only/);
});

t.test('disks: QEMU only; booting from disk needs a disk and no media', async (t) => {
  t.doesNotThrow(() => checkMachineOptions({ disks: ['/d.raw'], boot: 'disk' }));
  t.throws(() => checkMachineOptions({ boot: 'disk' }), { message: /booting from disk needs a disk/, hint: /--disk/ });
  t.throws(() => checkMachineOptions({ boot: 'disk', disks: ['/d.raw'], media: '/m.iso' }), /has no media/);
  t.throws(() => checkMachineOptions({ engine: 'bochs', disks: ['/d.raw'] }), /Bochs engine takes no disk images/);
  await t.rejects(startMachine({ disks: ['/nonexistent/disk.raw'], boot: 'disk' }), /disk image \/nonexistent\/disk\.raw does not exist or is not writable/);
});

t.test('chain boot: a disk and the hypervisor, under BIOS or UEFI', async (t) => {
  t.doesNotThrow(() => checkMachineOptions({ disks: ['/d.raw'], boot: 'chain' }));
  t.doesNotThrow(() => checkMachineOptions({ disks: ['/d.raw'], boot: 'chain', firmware: 'uefi' }), 'UEFI chain boot: the media\'s entry runs tsx-hv-efi.elf');
  t.throws(() => checkMachineOptions({ boot: 'chain', firmware: 'uefi' }), /chain boot starts an installed OS from a disk: there is none/);
  t.throws(() => checkMachineOptions({ disks: ['/d.raw'], boot: 'chain', firmware: 'uefi', hypervisor: false }), /cannot run without it/);
});

t.test('unknown engines and vendors are usage errors', async (t) => {
  t.throws(() => checkMachineOptions({ engine: 'vmware' as 'qemu' }), { message: 'unknown engine "vmware"', hint: 'engines: qemu, bochs' });
  t.throws(() => checkMachineOptions({ engine: 'bochs', cpuVendor: 'via' as 'amd' }), /unknown CPU vendor "via"/);
});

t.test('each engine refuses media that does not exist before starting anything', async (t) => {
  for (const engine of ['qemu', 'bochs'] as const) {
    const err = await startMachine({ engine, media: '/nonexistent/tsx-hv.iso' }).catch((e: unknown) => e);
    t.type(err, UsageError, engine);
    t.match((err as Error).message, /boot media \/nonexistent\/tsx-hv\.iso does not exist/, engine);
  }
  await t.rejects(startMachine({ engine: 'bochs', cpuVendor: 'intel', ips: 1 }), /invalid instructions per second/, 'options are checked first');
});
