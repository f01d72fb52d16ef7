import t from 'tap';
import { TOOLS, toolSpec } from '../../../src/doctor/catalog.js';

t.test('lists every host tool the issue names, once', async (t) => {
  const names = TOOLS.map((x) => x.name);
  for (const required of ['qemu-system-x86_64', 'bochs', 'grub-mkrescue', 'grub-pc-bin', 'grub-efi-amd64-bin', 'xorriso', 'mtools', 'cmake', 'gcc', 'g++', 'make', 'busybox-static', 'cpio', 'debootstrap', 'ssh', 'sshd', 'ansible-playbook', 'valgrind']) {
    t.ok(names.includes(required), required);
  }
  t.equal(new Set(names).size, names.length, 'names are unique');
});

t.test('every tool says what needs it, how to find it and which Debian package has it', async (t) => {
  for (const spec of TOOLS) {
    t.ok(spec.neededBy.length > 0, `${spec.name} neededBy`);
    t.ok(spec.purpose.length > 10, `${spec.name} purpose`);
    t.ok(Boolean(spec.programs?.length) !== Boolean(spec.paths?.length), `${spec.name}: programs xor paths`);
    t.type(spec.packages.debian, 'string', `${spec.name} has a Debian package`);
    if (spec.versionArgs) t.ok(spec.programs, `${spec.name}: only programs have a version command`);
  }
});

t.test('every Debian package is in .ci/apt-packages.txt, so CI installs it', async (t) => {
  const { readFile } = await import('node:fs/promises');
  const listed = new Set((await readFile('.ci/apt-packages.txt', 'utf8')).split('\n').map((l) => l.trim()).filter(Boolean));
  for (const spec of TOOLS) t.ok(listed.has(spec.packages.debian!), `${spec.packages.debian} (${spec.name})`);
});

t.test('toolSpec looks a tool up by name', async (t) => {
  t.equal(toolSpec('xorriso')?.packages.arch, 'libisoburn');
  t.equal(toolSpec('no-such-tool'), undefined);
});
