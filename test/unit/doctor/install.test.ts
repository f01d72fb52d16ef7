import t from 'tap';
import { TOOLS } from '../../../src/doctor/catalog.js';
import type { HostDistribution } from '../../../src/doctor/distro.js';
import { formatInstallCommand, installCommands, installPackages, planInstall, whileAptLocked } from '../../../src/doctor/install.js';
import { ToolFailedError, TsxHvError } from '../../../src/errors.js';
import { runProgram as run } from '../../../src/util/run.js';

const debian: HostDistribution = { id: 'debian', name: 'Debian GNU/Linux 12 (bookworm)', family: 'debian' };
const fedora: HostDistribution = { id: 'fedora', name: 'Fedora Linux 40', family: 'fedora' };
const arch: HostDistribution = { id: 'arch', name: 'Arch Linux', family: 'arch' };
const suse: HostDistribution = { id: 'opensuse-tumbleweed', name: 'openSUSE Tumbleweed', family: 'suse' };
const alpine: HostDistribution = { id: 'alpine', name: 'Alpine Linux', family: null };

t.test('Debian: apt-get update, then install the packages of the missing tools', async (t) => {
  const plan = planInstall(['qemu-system-x86_64', 'grub-pc-bin', 'ssh'], debian);
  t.same(plan.packages, ['qemu-system-x86', 'grub-pc-bin', 'openssh-client']);
  t.equal(plan.manager, 'apt-get');
  t.same(plan.commands, [
    ['apt-get', '-o', 'DPkg::Lock::Timeout=300', 'update'],
    ['apt-get', '-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '--no-install-recommends', 'qemu-system-x86', 'grub-pc-bin', 'openssh-client'],
  ]);
  t.equal(
    formatInstallCommand(plan, false),
    'sudo apt-get -o DPkg::Lock::Timeout=300 update && sudo DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends qemu-system-x86 grub-pc-bin openssh-client',
  );
  t.match(formatInstallCommand(plan, true), /^apt-get .* update && DEBIAN_FRONTEND=noninteractive apt-get /);
});

t.test('each package once, in catalog order, whatever order the tools come in', async (t) => {
  const plan = planInstall(['grub-efi-amd64-bin', 'grub-mkrescue', 'grub-pc-bin'], arch);
  t.same(plan.packages, ['grub']);
  t.same(plan.commands, [['pacman', '-S', '--needed', '--noconfirm', 'grub']]);
});

t.test('Fedora, openSUSE and Arch get their own package names and manager', async (t) => {
  t.same(planInstall(['g++', 'ssh'], fedora).commands, [['dnf', 'install', '-y', 'gcc-c++', 'openssh-clients']]);
  t.same(planInstall(['qemu-system-x86_64'], suse).commands, [['zypper', '--non-interactive', 'install', 'qemu-x86']]);
  t.equal(formatInstallCommand(planInstall(['g++'], fedora), false), 'sudo dnf install -y gcc-c++');
});

t.test('tools not packaged for a distribution are listed separately', async (t) => {
  const plan = planInstall(['bochs', 'cpio'], arch);
  t.same(plan.unpackaged, ['bochs']);
  t.same(plan.packages, ['cpio']);
});

t.test('an unknown distribution has no manager and no commands', async (t) => {
  const plan = planInstall(['cpio'], alpine);
  t.same([plan.manager, plan.commands, plan.packages], [null, [], ['cpio']]);
});

t.test('nothing missing: nothing to run', async (t) => {
  t.same(planInstall([], debian).commands, []);
  t.same(installCommands('dnf', []), []);
  await installPackages(planInstall([], debian));
});

t.test('every catalog tool maps to a package on Debian', async (t) => {
  const plan = planInstall(TOOLS.map((x) => x.name), debian);
  t.same(plan.unpackaged, []);
  t.ok(plan.packages.length >= 18);
});

t.test('arguments with shell characters are quoted in the printed command', async (t) => {
  const plan = { ...planInstall(['cpio'], fedora), commands: [['dnf', 'install', "it's"]] };
  t.equal(formatInstallCommand(plan, true), `dnf install 'it'\\''s'`);
});

t.test('refuses to run another distribution\'s package manager, and says what to run', async (t) => {
  const err = await installPackages(planInstall(['cpio'], fedora), { uid: 0 }).catch((e) => e);
  t.type(err, TsxHvError);
  t.equal(err.code, 'INSTALL_UNSUPPORTED');
  t.equal(err.hint, 'run: dnf install -y cpio');
});

t.test('a non-root user without sudo is told to run the command as root', async (t) => {
  const sudo = await run('sh', ['-c', 'command -v sudo'], { allowFailure: true });
  if (sudo.exitCode === 0) return t.skip('sudo is installed here');
  const err = await installPackages(planInstall(['cpio'], debian), { uid: 1000 }).catch((e) => e);
  t.equal(err.code, 'NOT_ROOT');
  t.match(err.hint, /^run as root: apt-get .* install -y --no-install-recommends cpio$/);
});

t.test('as root on Debian it really installs a package with apt-get', { skip: process.getuid?.() !== 0 && 'needs root' }, async (t) => {
  // `hello` is a tiny package nothing else here depends on; it is removed again afterwards.
  const installed = async () => (await run('dpkg-query', ['-W', '-f', '${Status}', 'hello'], { allowFailure: true })).stdout === 'install ok installed';
  const purge = () => run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'purge', '-y', 'hello'], { allowFailure: true });
  t.teardown(purge);
  if (await installed()) await purge(); // left over from an interrupted earlier run
  t.equal(await installed(), false, 'not installed before');
  const plan = { ...planInstall([], debian), manager: 'apt-get' as const, packages: ['hello'], commands: installCommands('apt-get', ['hello']) };
  await installPackages(plan);
  t.equal(await installed(), true, 'installed after');
  t.equal((await run('hello', [])).stdout, 'Hello, world!');
});

t.test('an apt-get failure names apt-get and the command', { skip: process.getuid?.() !== 0 && 'needs root' }, async (t) => {
  const plan = { ...planInstall([], debian), manager: 'apt-get' as const, packages: ['tsx-hv-no-such-package'], commands: installCommands('apt-get', ['tsx-hv-no-such-package']).slice(1) };
  const err = await installPackages(plan).catch((e) => e);
  t.equal(err.code, 'TOOL_FAILED');
  t.match(err.message, /apt-get failed \(exit 100\)[^]*Unable to locate package tsx-hv-no-such-package/);
  t.match(err.hint, /^the command was: DEBIAN_FRONTEND=noninteractive apt-get .* install .*tsx-hv-no-such-package$/);
});

t.test('a lock another apt holds is waited for; other failures are not', async (t) => {
  const locked = new ToolFailedError('apt-get', 100, 'E: Could not get lock /var/lib/apt/lists/lock. It is held by process 2664 (apt-get)\nE: Unable to lock directory /var/lib/apt/lists/');
  let calls = 0;
  t.equal(await whileAptLocked(async () => (++calls < 3 ? Promise.reject(locked) : 'done'), 1000, 10), 'done');
  t.equal(calls, 3, 'tried until the lock was free');
  calls = 0;
  const other = new ToolFailedError('apt-get', 100, 'E: Unable to locate package x');
  await t.rejects(whileAptLocked(async () => (++calls, Promise.reject(other)), 1000, 10), other);
  t.equal(calls, 1, 'any other failure at once');
  calls = 0;
  await t.rejects(whileAptLocked(async () => (++calls, Promise.reject(locked)), 50, 10), locked);
  t.ok(calls >= 2 && calls <= 6, `a lock held past the wait is the error (${calls} tries)`);
});

t.test('as root: apt-get update waits while another process holds the lists lock', { skip: process.getuid?.() !== 0 && 'needs root' }, async (t) => {
  // apt takes /var/lib/apt/lists/lock with fcntl (F_SETLK); python's lockf is the same lock.
  // Held for 4 s: `apt-get update` fails at once meanwhile (DPkg::Lock::Timeout does not cover
  // it), and installPackages must try again until it is free.
  const holder = (await import('node:child_process')).spawn('python3', ['-c', 'import fcntl,sys,time\nf=open("/var/lib/apt/lists/lock","w")\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint("held",flush=True)\ntime.sleep(4)'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((r) => holder.stdout.once('data', () => r()));
  const started = Date.now();
  const plan = { ...planInstall([], debian), manager: 'apt-get' as const, packages: ['cpio'], commands: installCommands('apt-get', ['cpio']).slice(0, 1) };
  await installPackages(plan);
  const s = (Date.now() - started) / 1000;
  t.ok(s >= 3, `apt-get update ran once the lock was released (${s.toFixed(1)} s)`);
});
