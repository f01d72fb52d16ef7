import t from 'tap';
import { grubCfgHasArgs, grubCmdlineLinux, overridesCmdline, withGrubCfgArgs, withGrubCmdlineArgs } from '../../../src/provision/grub-config.js';

const DEBIAN = 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n\n# GRUB_CMDLINE_LINUX="commented"\n';

t.test('adds the arguments to the last uncommented GRUB_CMDLINE_LINUX, touching nothing else', async (t) => {
  const out = withGrubCmdlineArgs(DEBIAN, ['tsc=reliable']);
  t.equal(out, DEBIAN.replace('GRUB_CMDLINE_LINUX=""', 'GRUB_CMDLINE_LINUX="tsc=reliable"'));
  t.equal(grubCmdlineLinux(out), 'tsc=reliable');
  t.equal(withGrubCmdlineArgs(out, ['tsc=reliable']), out, 'idempotent: same text back');
  const twice = 'GRUB_CMDLINE_LINUX="a"\nGRUB_CMDLINE_LINUX="b"\n';
  t.equal(withGrubCmdlineArgs(twice, ['tsc=reliable']), 'GRUB_CMDLINE_LINUX="a"\nGRUB_CMDLINE_LINUX="b tsc=reliable"\n', 'the assignment the shell uses');
});

t.test('keeps quoting style, shell references and trailing comments', async (t) => {
  t.equal(withGrubCmdlineArgs("GRUB_CMDLINE_LINUX='console=ttyS0' # serial\n", ['tsc=reliable']), "GRUB_CMDLINE_LINUX='console=ttyS0 tsc=reliable' # serial\n");
  t.equal(withGrubCmdlineArgs('export GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX \\"x\\""\n', ['tsc=reliable']), 'export GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX \\"x\\" tsc=reliable"\n');
  t.equal(withGrubCmdlineArgs('GRUB_CMDLINE_LINUX=quiet\n', ['tsc=reliable']), 'GRUB_CMDLINE_LINUX="quiet tsc=reliable"\n', 'a bare value gets quotes');
  t.equal(grubCmdlineLinux('GRUB_CMDLINE_LINUX=quiet # x'), 'quiet');
});

t.test('appends an assignment when there is none', async (t) => {
  t.equal(withGrubCmdlineArgs('GRUB_TIMEOUT=5', ['tsc=reliable', 'nosmt']), 'GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX="tsc=reliable nosmt"\n');
  t.equal(withGrubCmdlineArgs('', ['tsc=reliable']), 'GRUB_CMDLINE_LINUX="tsc=reliable"\n');
  t.equal(grubCmdlineLinux('GRUB_TIMEOUT=5\n'), null);
});

t.test('spots grub.d drop-ins that would discard the value', async (t) => {
  t.ok(overridesCmdline('GRUB_CMDLINE_LINUX="console=ttyS0"\n'));
  t.notOk(overridesCmdline('GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX console=ttyS0"\n'));
  t.notOk(overridesCmdline('GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} x"\n'));
  t.notOk(overridesCmdline('GRUB_TIMEOUT=0\n'));
});

t.test('edits every linux line of a grub.cfg', async (t) => {
  const cfg = 'menuentry "Debian" {\n\tlinux\t/boot/vmlinuz-6.1 root=UUID=x ro quiet\n\tinitrd /boot/initrd.img\n}\nmenuentry "old" {\n  linux16 /vmlinuz\n}\n';
  const out = withGrubCfgArgs(cfg, ['tsc=reliable'])!;
  t.match(out, /^\tlinux\t\/boot\/vmlinuz-6\.1 root=UUID=x ro quiet tsc=reliable$/m);
  t.match(out, /^ {2}linux16 \/vmlinuz tsc=reliable$/m);
  t.ok(grubCfgHasArgs(out, ['tsc=reliable']));
  t.notOk(grubCfgHasArgs(cfg, ['tsc=reliable']));
  t.equal(withGrubCfgArgs('set timeout=5\n', ['tsc=reliable']), null, 'no linux line: nothing to edit');
  t.notOk(grubCfgHasArgs('set timeout=5\n', ['tsc=reliable']));
});
