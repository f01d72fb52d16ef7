import t from 'tap';
import { TOOLS } from '../../../src/doctor/catalog.js';
import { doctor, installMissing, type DoctorReport } from '../../../src/doctor/index.js';

const report = await doctor();

t.test('one report: every tool with found, version, path, neededBy and package', async (t) => {
  t.same(report.tools.map((x) => x.name), TOOLS.map((x) => x.name));
  for (const tool of report.tools) {
    t.same(Object.keys(tool).slice(0, 6), ['name', 'found', 'version', 'path', 'neededBy', 'package'], tool.name);
  }
  t.same(report.missing, report.tools.filter((x) => !x.found && !x.optional).map((x) => x.name), 'missing: required tools only');
  t.same(report.optionalMissing, report.tools.filter((x) => !x.found && x.optional).map((x) => x.name));
  t.same(report.engines.map((e) => e.name), ['qemu-tcg-svm', 'bochs-vmx', 'hardware']);
  t.equal(report.distribution.family, 'debian');
  t.type(report.cpu.vendor, 'string');
  t.type(report.kvm.canRunNestedHypervisor, 'boolean');
});

t.test('is plain JSON: it survives a round trip unchanged', async (t) => {
  t.same(JSON.parse(JSON.stringify(report)), report);
});

t.test('nothing missing on this machine: no install command', async (t) => {
  t.same(report.missing, []);
  t.equal(report.install.command, null);
  t.same(await installMissing(report), { report, installed: [], instructions: null });
});

t.test('a missing optional tool is reported apart and installs nothing', async (t) => {
  const dir = t.testdir();
  const { symlink } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { findTool } = await import('../../../src/doctor/locate.js');
  for (const spec of TOOLS) {
    if (!('programs' in spec) || ('optional' in spec && spec.optional)) continue;
    const path = await findTool(spec.name);
    if (path) await symlink(path, join(dir, path.split('/').pop()!));
  }
  const r = await doctor({ searchPath: dir });
  t.same(r.missing, [], 'every required program is in the searched PATH');
  t.ok(r.optionalMissing.includes('valgrind'), 'valgrind is missing, and optional');
  t.equal(r.install.command, null, 'nothing to install for optional tools');
  t.match(r.tools.find((x) => x.name === 'valgrind'), { found: false, optional: /benchmark/ });
});

t.test('tools outside the searched PATH are missing, with the command that installs them', async (t) => {
  const narrow = await doctor({ searchPath: '/nonexistent' });
  t.ok(narrow.missing.includes('qemu-system-x86_64'));
  t.notOk(narrow.missing.includes('grub-pc-bin'), 'data directories do not depend on PATH');
  t.same(narrow.install.packages.slice(0, 1), ['qemu-system-x86']);
  t.match(narrow.install.command, /apt-get .*install -y --no-install-recommends qemu-system-x86 /);
  t.equal(narrow.engines[0]!.usable, false);
});

const missingOn = (family: DoctorReport['distribution']['family'], name: string): DoctorReport => ({
  ...report,
  missing: ['bochs', 'cpio'],
  distribution: { id: name.toLowerCase(), name, family },
});

t.test('--install elsewhere prints the exact command of that distribution instead of running it', async (t) => {
  const fedora = await installMissing(missingOn('fedora', 'Fedora Linux 40'), { uid: 1000 });
  t.same(fedora.installed, []);
  t.equal(fedora.instructions, 'tsx-hv installs packages itself only on Debian/Ubuntu. On Fedora Linux 40 run:\n  sudo dnf install -y bochs cpio');
  const arch = await installMissing(missingOn('arch', 'Arch Linux'), { uid: 0 });
  t.equal(arch.instructions, 'tsx-hv installs packages itself only on Debian/Ubuntu. On Arch Linux run:\n  pacman -S --needed --noconfirm cpio\nnot packaged on Arch Linux (install by hand): bochs');
  const alpine = await installMissing(missingOn(null, 'Alpine Linux'));
  t.equal(alpine.instructions, 'tsx-hv does not know the package names of Alpine Linux; install these tools: bochs, cpio');
});

t.test('--install on Debian runs apt-get for what is missing, then probes again', { skip: process.getuid?.() !== 0 && 'needs root' }, async (t) => {
  // cpio is installed (CI installs .ci/apt-packages.txt), so apt-get has nothing to change.
  const lines: string[] = [];
  const outcome = await installMissing({ ...report, missing: ['cpio'] }, { log: (l) => lines.push(l) });
  t.same(outcome.installed, ['cpio']);
  t.same(lines, ['installing cpio with apt-get ...']);
  t.same(outcome.report.missing, []);
  t.equal(outcome.instructions, null);
});
