import t from 'tap';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FIRST_BOOT_UNIT, detectBootLoader, planCmdline } from '../../../src/provision/action-cmdline.js';
import { detectDistribution } from '../../../src/provision/os-release.js';
import { DirTarget } from '../../../src/provision/target-dir.js';
import { Transaction } from '../../../src/provision/transaction.js';

const DEBIAN = detectDistribution('ID=debian');
const FEDORA = detectDistribution('ID=fedora');

async function root(t: Tap.Test, files: Record<string, string>): Promise<DirTarget> {
  const dir = await mkdtemp(join(tmpdir(), 'provision-cmdline-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return DirTarget.open(dir);
}

t.test('detects the boot loader from the files, refusing when there is none', async (t) => {
  t.equal(await detectBootLoader(await root(t, { 'etc/default/grub': '' }), DEBIAN), 'grub-debian');
  t.equal(await detectBootLoader(await root(t, { 'boot/efi/loader/loader.conf': 'timeout 3\n' }), DEBIAN), 'systemd-boot');
  t.equal(await detectBootLoader(await root(t, { 'efi/loader/loader.conf': '' }), FEDORA), 'systemd-boot');
  t.equal(await detectBootLoader(await root(t, { 'usr/sbin/grubby': '', 'etc/default/grub': '' }), FEDORA), 'grubby');
  t.equal(await detectBootLoader(await root(t, { 'sbin/grubby': '' }), FEDORA), 'grubby');
  await t.rejects(detectBootLoader(await root(t, {}), DEBIAN), { code: 'UNKNOWN_BOOT_LOADER' });
  await t.rejects(detectBootLoader(await root(t, { 'etc/default/grub': '' }), FEDORA), { code: 'UNKNOWN_BOOT_LOADER' }, 'Fedora without grubby');
});

t.test('systemd-boot: /etc/kernel/cmdline and every loader entry, idempotently', async (t) => {
  const target = await root(t, {
    'boot/loader/loader.conf': 'default fedora*\n',
    'boot/loader/entries/a.conf': 'title A\nlinux /vmlinuz-a\noptions root=UUID=r ro quiet\n',
    'boot/loader/entries/b.conf': 'title B\nlinux /vmlinuz-b\n',
    'boot/loader/entries/done.conf': 'title C\noptions root=UUID=r tsc=reliable\n',
  });
  const plan = await planCmdline(target, 'systemd-boot', ['tsc=reliable']);
  t.same(plan.operations.map((o) => (o.op === 'write' ? o.path : o.argv.join(' '))), ['/etc/kernel/cmdline', '/boot/loader/entries/a.conf', '/boot/loader/entries/b.conf']);
  t.same(plan.notes.map((n) => [n.status, n.subject]), [['unchanged', '/boot/loader/entries/done.conf']]);
  const tx = await Transaction.begin(target);
  await tx.apply(plan.operations);
  t.equal(await readFile(join(target.root, 'etc/kernel/cmdline'), 'utf8'), 'root=UUID=r ro quiet tsc=reliable\n', 'seeded from the first entry');
  t.match(await readFile(join(target.root, 'boot/loader/entries/a.conf'), 'utf8'), /^options root=UUID=r ro quiet tsc=reliable$/m);
  t.match(await readFile(join(target.root, 'boot/loader/entries/b.conf'), 'utf8'), /^linux \/vmlinuz-b\noptions tsc=reliable\n$/m);
  const again = await planCmdline(target, 'systemd-boot', ['tsc=reliable']);
  t.same(again.operations, []);
  t.equal(again.notes.length, 4);
});

t.test('systemd-boot: an existing /etc/kernel/cmdline is extended', async (t) => {
  const target = await root(t, { 'efi/loader/loader.conf': '', 'etc/kernel/cmdline': 'root=/dev/vda2 rw\n' });
  await chmod(join(target.root, 'etc/kernel/cmdline'), 0o600);
  const plan = await planCmdline(target, 'systemd-boot', ['tsc=reliable', 'nosmt']);
  t.match(plan.operations[0], { op: 'write', path: '/etc/kernel/cmdline', content: Buffer.from('root=/dev/vda2 rw tsc=reliable nosmt\n'), mode: 0o600 });
});

t.test('grubby: GRUB_CMDLINE_LINUX plus grubby for installed kernels; nothing when entries have it', async (t) => {
  const target = await root(t, {
    'usr/sbin/grubby': '',
    'etc/default/grub': 'GRUB_CMDLINE_LINUX="rhgb quiet"\n',
    'boot/loader/entries/x.conf': 'title Fedora\noptions root=UUID=r ro rhgb quiet\n',
  });
  const plan = await planCmdline(target, 'grubby', ['tsc=reliable']);
  t.match(plan.operations[0], { op: 'write', path: '/etc/default/grub', content: Buffer.from('GRUB_CMDLINE_LINUX="rhgb quiet tsc=reliable"\n') });
  t.match(plan.operations[1], { op: 'command', argv: ['grubby', '--update-kernel=ALL', '--args=tsc=reliable'], touchesTrees: ['/boot/loader/entries'] });
  const done = await root(t, { 'usr/sbin/grubby': '', 'boot/loader/entries/x.conf': 'options ro tsc=reliable\n' });
  const none = await planCmdline(done, 'grubby', ['tsc=reliable']);
  t.same(none.operations, []);
  t.equal(none.notes[0]!.status, 'unchanged');
});

t.test('grub-debian: edits grub.cfg and installs the first-boot unit as the update-grub fallback', async (t) => {
  const target = await root(t, {
    'etc/default/grub': 'GRUB_CMDLINE_LINUX=""\n',
    'etc/default/grub.d/50-cloudimg.cfg': 'GRUB_CMDLINE_LINUX="console=ttyS0"\n',
    'etc/default/grub.d/60-ok.cfg': 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX x"\n',
    'boot/grub/grub.cfg': 'menuentry "Debian" {\n\tlinux /vmlinuz root=UUID=r ro quiet\n}\n',
  });
  const plan = await planCmdline(target, 'grub-debian', ['tsc=reliable']);
  t.same(plan.notes.map((n) => [n.status, n.subject]), [['info', '/etc/default/grub.d/50-cloudimg.cfg']]);
  const update = plan.operations[1]!;
  t.match(update, { op: 'command', argv: ['update-grub'], touches: ['/boot/grub/grub.cfg'] });
  t.ok(update.op === 'command' && update.fallback);
  const fallback = update.op === 'command' ? update.fallback!.operations : [];
  t.same(fallback.map((o) => (o.op === 'write' ? o.path : o.argv.join(' '))), ['/boot/grub/grub.cfg', `/etc/systemd/system/${FIRST_BOOT_UNIT}`, `enable ${FIRST_BOOT_UNIT}`]);
  t.match(fallback[0], { content: Buffer.from('menuentry "Debian" {\n\tlinux /vmlinuz root=UUID=r ro quiet tsc=reliable\n}\n') });

  await writeFile(join(target.root, 'etc/default/grub'), 'GRUB_CMDLINE_LINUX="tsc=reliable"\n');
  const regenerate = await planCmdline(target, 'grub-debian', ['tsc=reliable']);
  t.same(regenerate.operations.map((o) => o.op), ['command'], '/etc/default/grub done but grub.cfg lacks the argument: update-grub only');
  await writeFile(join(target.root, 'boot/grub/grub.cfg'), '\tlinux /vmlinuz tsc=reliable\n');
  t.same((await planCmdline(target, 'grub-debian', ['tsc=reliable'])).operations, [], 'all done');
});
