import t from 'tap';
import { TOOLS, toolSpec, type ToolSpec } from '../../../src/doctor/catalog.js';
import { parseVersion, probeTool, probeTools } from '../../../src/doctor/tools.js';
import { runProgram as run } from '../../../src/util/run.js';

// CI installs .ci/apt-packages.txt first, so every catalog tool is present where these run
// (a development machine may lack an optional one, such as sudo when working as root).

t.test('finds every catalog tool on this machine, with a version', async (t) => {
  const tools = await probeTools({ family: 'debian' });
  t.same(tools.map((x) => x.name), TOOLS.map((x) => x.name), 'catalog order');
  for (const tool of tools) {
    if (!tool.found && tool.optional) {
      t.equal(tool.path, null, `${tool.name}: optional, not installed here`);
      continue;
    }
    t.ok(tool.found, `${tool.name} found at ${tool.path}`);
    t.ok(tool.version, `${tool.name} version ${tool.version}`);
    t.ok(tool.package, `${tool.name} package`);
  }
});

t.test('reads the same version the tool itself prints', async (t) => {
  const qemu = await probeTool(toolSpec('qemu-system-x86_64')!);
  const printed = (await run('qemu-system-x86_64', ['--version'])).stdout;
  t.ok(printed.startsWith(`QEMU emulator version ${qemu.version} `), printed.split('\n')[0]);
  const gcc = await probeTool(toolSpec('gcc')!);
  t.equal(gcc.version, (await run('gcc', ['-dumpfullversion'])).stdout.trim());
  const cmake = await probeTool(toolSpec('cmake')!);
  t.match((await run('cmake', ['--version'])).stdout, `cmake version ${cmake.version}`);
  const ssh = await probeTool(toolSpec('ssh')!);
  t.match((await run('ssh', ['-V'])).stderr, `OpenSSH_${ssh.version}`);
});

t.test('data packages get their version from dpkg on Debian', async (t) => {
  const grub = await probeTool(toolSpec('grub-pc-bin')!, { family: 'debian' });
  t.equal(grub.path, '/usr/lib/grub/i386-pc');
  t.equal(grub.version, (await run('dpkg-query', ['-W', '-f', '${Version}', 'grub-pc-bin'])).stdout);
  const unknownFamily = await probeTool(toolSpec('grub-pc-bin')!, { family: null });
  t.equal(unknownFamily.version, null, 'no package database is asked outside Debian');
  t.equal(unknownFamily.package, 'grub-pc-bin', "Debian's name when the family is unknown");
});

t.test('sshd is found in sbin even when PATH leaves sbin out', async (t) => {
  const sshd = await probeTool(toolSpec('sshd')!, { searchPath: '/usr/bin:/bin' });
  t.ok(sshd.found);
  t.match(sshd.path, /sbin\/sshd$/);
});

t.test('a tool that is not in PATH is reported missing with the package that provides it', async (t) => {
  const spec = toolSpec('qemu-system-x86_64')!;
  const debian = await probeTool(spec, { searchPath: '/nonexistent' });
  t.same(
    { found: debian.found, path: debian.path, version: debian.version, package: debian.package },
    { found: false, path: null, version: null, package: 'qemu-system-x86' },
  );
  t.equal((await probeTool(spec, { searchPath: '/nonexistent', family: 'fedora' })).package, 'qemu-system-x86-core');
  t.equal((await probeTool(toolSpec('bochs')!, { searchPath: '/nonexistent', family: 'arch' })).package, null);
});

t.test('a data directory that does not exist is missing', async (t) => {
  const spec: ToolSpec = { ...toolSpec('grub-pc-bin')!, paths: ['/nonexistent/i386-pc'] };
  t.equal((await probeTool(spec)).found, false);
});

t.test('a program that must be static but is dynamically linked does not count', async (t) => {
  const spec: ToolSpec = { ...toolSpec('busybox-static')!, programs: ['sh'] };
  const status = await probeTool(spec, { family: 'debian' });
  t.equal(status.found, false);
  t.match(status.problem, /is not a statically linked program; install busybox-static/);
});

t.test('a version command that hangs is given up on, not waited for', async (t) => {
  const spec: ToolSpec = { name: 'sleeper', purpose: 'a program that hangs', neededBy: ['build'], packages: { debian: 'coreutils', fedora: null, suse: null, arch: null }, programs: ['sleep'], versionArgs: ['30'] };
  const started = Date.now();
  const status = await probeTool(spec, { timeoutS: 0.2 });
  t.equal(status.found, true);
  t.equal(status.version, null);
  t.ok(Date.now() - started < 10_000);
});

t.test('a package dpkg does not know gives no version', async (t) => {
  const spec: ToolSpec = { name: 'shell', purpose: 'a program without version output', neededBy: ['build'], packages: { debian: 'tsx-hv-no-such-package', fedora: null, suse: null, arch: null }, programs: ['sh'] };
  t.equal((await probeTool(spec, { family: 'debian' })).version, null);
});

t.test('dpkg-query not in PATH means no package version', async (t) => {
  const spec: ToolSpec = { ...toolSpec('grub-pc-bin')! };
  t.equal((await probeTool(spec, { family: 'debian', searchPath: '/nonexistent' })).version, null);
});

t.test('parseVersion takes the first dotted number, or the pattern group', async (t) => {
  t.equal(parseVersion('GNU Make 4.3\nBuilt for x86_64'), '4.3');
  t.equal(parseVersion('debootstrap 1.0.128+nmu2+deb12u2'), '1.0.128+nmu2+deb12u2');
  t.equal(parseVersion('gcc (Debian 12.2.0-14) 12.2.0', /\) (\d+\.\d+\.\d+)/), '12.2.0');
  t.equal(parseVersion('no version here'), null);
});
