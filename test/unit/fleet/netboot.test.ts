import t, { type Test } from 'tap';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkInterfaceName, netboot, NETBOOT_PATHS, planNetboot, renderIpxeScript } from '../../../src/fleet/netboot.js';
import { MEDIA_PATHS } from '../../../src/builder/iso.js';
import { TsxHvError, UsageError } from '../../../src/errors.js';
import { runProgram } from '../../../src/util/run.js';

/** A build directory with the five files netboot copies (their content does not matter here). */
async function fakeBuild(dir: string): Promise<string> {
  const build = join(dir, 'build');
  for (const [path, text] of [['hv-core/tsx-hv.elf', 'ELF'], ['hv-core/tsx-hv-efi.elf', 'EFI ELF'], ['guest/vmlinuz', 'KERNEL'], ['guest/initrd.img', 'INITRD'], ['media/grub.cfg', 'set default=tsx-hv\n']]) {
    await mkdir(join(build, path, '..'), { recursive: true });
    await writeFile(join(build, path), text);
  }
  return build;
}

async function scratch(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'netboot-unit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** dnsmasq's own syntax check of a configuration: '' when it passes, else its complaint. */
async function dnsmasqCheck(t: Test, text: string): Promise<string> {
  const file = join(await scratch(t), 'dnsmasq.conf');
  await writeFile(file, text);
  const check = await runProgram('dnsmasq', ['--test', `--conf-file=${file}`], { allowFailure: true });
  return check.exitCode === 0 ? '' : check.stderr || `exit ${check.exitCode}`;
}

t.test('interface names follow Linux\'s rules and keep dnsmasq.conf intact', async (t) => {
  for (const good of ['eno1', 'br0', 'enp0s31f6', 'lab-net.10', 'a23456789012345']) t.equal(checkInterfaceName(good), good);
  for (const bad of ['', 'a234567890123456', 'bad name', 'eth0:1', 'a/b', '.', '..', '-x', 'eth0,lo', 'x#y', 'é']) {
    t.throws(() => checkInterfaceName(bad), UsageError, JSON.stringify(bad));
  }
});

t.test('proxy-DHCP plan: answers PXE clients only, beside the network\'s DHCP server', async (t) => {
  const plan = planNetboot({ interface: 'eno1', server: '192.168.50.10/24', out: '/srv/netboot', buildDir: '/opt/build' }, '/usr/sbin/dnsmasq');
  t.equal(plan.mode, 'proxy');
  t.equal(plan.range, null);
  t.equal(plan.tftpRoot, '/srv/netboot/tftp');
  t.same(plan.command, ['/usr/sbin/dnsmasq', '--keep-in-foreground', '--conf-file=/srv/netboot/dnsmasq.conf']);
  t.same(plan.sources, { hvElf: '/opt/build/hv-core/tsx-hv.elf', hvEfiElf: '/opt/build/hv-core/tsx-hv-efi.elf', vmlinuz: '/opt/build/guest/vmlinuz', initrd: '/opt/build/guest/initrd.img', grubCfg: '/opt/build/media/grub.cfg' });
  t.equal(plan.grubPrefix, '(tftp,192.168.50.10)/boot/grub', 'GRUB asks this server, not the one DHCP names');
  const conf = plan.dnsmasqConfText.split('\n');
  for (const line of ['port=0', 'interface=eno1', 'bind-interfaces', 'enable-tftp', 'tftp-root=/srv/netboot/tftp', 'pid-file=', 'leasefile-ro', 'dhcp-range=192.168.50.0,proxy,255.255.255.0']) t.ok(conf.includes(line), line);
  t.ok(conf.includes('pxe-service=tag:ipxe,x86PC,"tsx-hv (iPXE, BIOS)",tsx-hv.ipxe'));
  t.ok(conf.includes('pxe-service=tag:!ipxe,x86PC,"tsx-hv (BIOS)",boot/grub/i386-pc/core.0'));
  t.ok(conf.includes('pxe-service=tag:!ipxe,x86-64_EFI,"tsx-hv (UEFI)",boot/grub/x86_64-efi/core.efi'));
  t.notOk(conf.some((l) => l.startsWith('dhcp-boot=')), 'no dhcp-boot in proxy mode');
  t.ok(conf.includes('#   /usr/sbin/dnsmasq --keep-in-foreground --conf-file=/srv/netboot/dnsmasq.conf'), 'the file says how to run it');
});

t.test('lab plan: addresses from the range, no router, no DNS, a boot file per client kind', async (t) => {
  const plan = planNetboot({ interface: 'lab0', server: '10.77.0.1/24', dhcpRange: '10.77.0.100-10.77.0.199', out: '/srv/nb', buildDir: '/opt/build' });
  t.equal(plan.mode, 'dhcp');
  t.same(plan.range, { start: '10.77.0.100', end: '10.77.0.199' });
  t.equal(plan.command[0], 'dnsmasq');
  const conf = plan.dnsmasqConfText.split('\n');
  for (const line of [
    'dhcp-range=10.77.0.100,10.77.0.199,255.255.255.0,1h',
    'dhcp-leasefile=/srv/nb/dnsmasq.leases',
    'dhcp-option=option:router',
    'dhcp-option=option:dns-server',
    'dhcp-match=set:uefi,option:client-arch,7',
    'dhcp-match=set:uefi,option:client-arch,9',
    'dhcp-boot=tag:ipxe,tsx-hv.ipxe,,10.77.0.1',
    'dhcp-boot=tag:!ipxe,tag:uefi,boot/grub/x86_64-efi/core.efi,,10.77.0.1',
    'dhcp-boot=tag:!ipxe,tag:!uefi,boot/grub/i386-pc/core.0,,10.77.0.1',
  ]) t.ok(conf.includes(line), line);
  t.notOk(conf.some((l) => l.includes('proxy')), 'no proxy range');
  t.equal(await dnsmasqCheck(t, plan.dnsmasqConfText), '', 'dnsmasq --test accepts it');
});

t.test('the proxy configuration passes dnsmasq\'s own syntax check', async (t) => {
  const plan = planNetboot({ interface: 'eno1', server: '192.168.50.10/24', out: '/srv/netboot' });
  t.equal(await dnsmasqCheck(t, plan.dnsmasqConfText), '', 'dnsmasq --test accepts it');
});

t.test('the default output is netboot/ in the build directory', async (t) => {
  const plan = planNetboot({ interface: 'eno1', server: '192.168.50.10/24', buildDir: '/opt/build' });
  t.equal(plan.out, '/opt/build/netboot');
  t.equal(plan.dnsmasqConf, '/opt/build/netboot/dnsmasq.conf');
});

t.test('refuses an output path dnsmasq.conf could not name', async (t) => {
  for (const out of ['/srv/net boot', '/srv/a,b', '/srv/#x', '/srv/"q"']) {
    t.throws(() => planNetboot({ interface: 'eno1', server: '192.168.50.10/24', out }), UsageError, out);
  }
});

t.test('the iPXE script chains GRUB for the platform, by the server\'s address', async (t) => {
  const script = renderIpxeScript('10.0.0.5');
  t.match(script, /^#!ipxe\n/);
  t.match(script, /iseq \$\{platform\} efi && goto uefi \|\| goto bios/);
  t.match(script, /:bios\nchain tftp:\/\/10\.0\.0\.5\/boot\/grub\/i386-pc\/core\.0 \|\| goto failed\nexit\n/);
  t.match(script, /:uefi\nchain tftp:\/\/10\.0\.0\.5\/boot\/grub\/x86_64-efi\/core\.efi \|\| goto failed\nexit\n/);
  t.match(script, /:failed\necho .*\nexit 1\n$/);
});

t.test('writes a world-readable tree with the media\'s files, GRUB images and the dnsmasq.conf', async (t) => {
  const dir = await scratch(t);
  const buildDir = await fakeBuild(dir);
  const out = join(dir, 'out');
  const r = await netboot({ interface: 'lo', server: '10.9.8.7/24', out, buildDir });
  t.equal(r.dryRun, false);
  for (const [path, text] of [[MEDIA_PATHS.hvElf, 'ELF'], [MEDIA_PATHS.hvEfiElf, 'EFI ELF'], [MEDIA_PATHS.vmlinuz, 'KERNEL'], [MEDIA_PATHS.initrd, 'INITRD'], [MEDIA_PATHS.grubCfg, 'set default=tsx-hv\n']]) {
    t.equal(await readFile(join(r.tftpRoot, path), 'utf8'), text, path);
  }
  t.equal(await readFile(join(r.tftpRoot, NETBOOT_PATHS.ipxeScript), 'utf8'), renderIpxeScript('10.9.8.7'));
  t.equal(await readFile(r.dnsmasqConf, 'utf8'), r.dnsmasqConfText);
  t.ok((await stat(join(r.tftpRoot, NETBOOT_PATHS.biosCore))).size > 10_000, 'the BIOS image (LZMA-compressed: its prefix is not readable in the file)');
  const coreEfi = await readFile(join(r.tftpRoot, NETBOOT_PATHS.uefiCore));
  t.equal(coreEfi.subarray(0, 2).toString(), 'MZ', 'the UEFI image is a PE executable');
  t.ok(coreEfi.includes(Buffer.from('(tftp,10.9.8.7)/boot/grub')), 'the UEFI image names the server in its prefix');
  t.ok((await stat(join(r.tftpRoot, 'boot/grub/i386-pc/multiboot2.mod'))).isFile(), 'BIOS modules installed');
  t.ok((await stat(join(r.tftpRoot, 'boot/grub/x86_64-efi/multiboot2.mod'))).isFile(), 'UEFI modules installed');
  t.notOk(await stat(join(r.tftpRoot, 'boot/grub/i386-pc/grub.cfg')).catch(() => null), 'grub-mknetdir\'s per-platform grub.cfg is gone');
  t.equal((await stat(join(r.tftpRoot, 'boot'))).mode & 0o777, 0o755);
  t.equal((await stat(join(r.tftpRoot, MEDIA_PATHS.hvElf))).mode & 0o777, 0o644);
  t.match(r.warnings.join('\n'), /lo does not carry 10\.9\.8\.7/, 'warns that the interface lacks the address');

  // A second run replaces the tree.
  await writeFile(join(r.tftpRoot, 'stale'), 'x');
  await netboot({ interface: 'lo', server: '10.9.8.7/24', out, buildDir });
  t.notOk(await stat(join(r.tftpRoot, 'stale')).catch(() => null), 'the earlier tree was replaced');
});

t.test('dry run checks and renders, writes nothing', async (t) => {
  const dir = await scratch(t);
  const buildDir = await fakeBuild(dir);
  const r = await netboot({ interface: 'no-such-if0', server: '10.9.8.7/24', out: join(dir, 'out'), buildDir, dryRun: true });
  t.equal(r.dryRun, true);
  t.notOk(await stat(join(dir, 'out')).catch(() => null), 'nothing written');
  t.match(r.warnings[0], /there is no interface no-such-if0 on this machine/);
  t.same(r.bootFiles.slice(0, 3), [NETBOOT_PATHS.ipxeScript, NETBOOT_PATHS.biosCore, NETBOOT_PATHS.uefiCore]);
});

t.test('missing build outputs: one error naming them, and how to build', async (t) => {
  const dir = await scratch(t);
  const buildDir = await fakeBuild(dir);
  await rm(join(buildDir, 'guest', 'vmlinuz'));
  const err = await netboot({ interface: 'lo', server: '10.9.8.7/24', out: join(dir, 'out'), buildDir, dryRun: true }).catch((e: unknown) => e);
  t.type(err, TsxHvError);
  t.equal((err as TsxHvError).code, 'MISSING_BUILD');
  t.equal((err as TsxHvError).exitCode, 1);
  t.match((err as TsxHvError).message, /guest\/vmlinuz is missing/);
  t.match((err as TsxHvError).hint, /tsx-hv build/);
});

t.test('never replaces a directory that is not a netboot tree', async (t) => {
  const dir = await scratch(t);
  const buildDir = await fakeBuild(dir);
  const out = join(dir, 'out');
  await mkdir(join(out, 'tftp'), { recursive: true });
  await writeFile(join(out, 'tftp', 'precious'), 'x');
  await chmod(join(out, 'tftp'), 0o700);
  await t.rejects(netboot({ interface: 'lo', server: '10.9.8.7/24', out, buildDir }), /exists and is not a tsx-hv netboot tree/);
  t.equal(await readFile(join(out, 'tftp', 'precious'), 'utf8'), 'x');
});
