import t from 'tap';
import { Command } from 'commander';
import { addEngineOptions, engineChoice } from '../../../src/cli/engine-options.js';

t.test('--engine, --cpu and --ips with their choices', async (t) => {
  const command = addEngineOptions(new Command('x').exitOverride().configureOutput({ writeErr: () => undefined }));
  t.same(command.options.map((o) => o.long), ['--engine', '--cpu', '--ips', '--disk', '--boot-disk', '--boot-chain']);
  t.throws(() => addEngineOptions(new Command('w').exitOverride().configureOutput({ writeErr: () => undefined })).parse(['--disk', 'a.raw', '--boot-disk', '--boot-chain'], { from: 'user' }), /cannot be used with/);
  t.same(addEngineOptions(new Command('z')).parse(['--disk', 'a.raw', '--disk', 'b.qcow2', '--boot-disk'], { from: 'user' }).opts(), { disk: ['a.raw', 'b.qcow2'], bootDisk: true });
  t.same(command.parse(['--engine', 'bochs', '--cpu', 'amd', '--ips', '30000000'], { from: 'user' }).opts(), { engine: 'bochs', cpu: 'amd', ips: '30000000' });
  t.throws(() => addEngineOptions(new Command('y').exitOverride().configureOutput({ writeErr: () => undefined })).parse(['--engine', 'vmware'], { from: 'user' }), /Allowed choices are qemu, bochs/);
});

t.test('the choice: QEMU by default, Bochs with its vendor and rate', async (t) => {
  t.same(engineChoice({}), { engine: 'qemu' });
  t.same(engineChoice({ engine: 'bochs', cpu: 'amd', ips: '30000000' }), { engine: 'bochs', cpuVendor: 'amd', ips: 30_000_000 });
  t.same(engineChoice({ disk: ['d.raw'], bootDisk: true }), { engine: 'qemu', disks: ['d.raw'], boot: 'disk' });
  t.throws(() => engineChoice({ bootDisk: true }), /booting from disk needs a disk/);
  t.same(engineChoice({ disk: ['d.raw'], bootChain: true }), { engine: 'qemu', disks: ['d.raw'], boot: 'chain' });
  t.throws(() => engineChoice({ bootChain: true }), /chain boot starts an installed OS from a disk: there is none/);
  t.match(addEngineOptions(new Command('w')).options.find((o) => o.long === '--boot-chain')?.description, /with --uefi: the firmware's next boot option/);
  t.throws(() => engineChoice({ engine: 'bochs', disk: ['d.raw'], bootChain: true }), /the Bochs engine takes no disk images yet/);
});

t.test('refuses what the engine cannot do, and rates that are not whole numbers', async (t) => {
  t.throws(() => engineChoice({ cpu: 'intel' }), /QEMU TCG emulates AMD SVM only/);
  t.throws(() => engineChoice({ ips: '50000000' }), /--ips sets the instruction rate of Bochs/);
  for (const ips of ['5e7', '-1', 'fast', '1.5', '99999999999999999999']) t.throws(() => engineChoice({ engine: 'bochs', ips }), /--ips must be a whole number/, ips);
});
