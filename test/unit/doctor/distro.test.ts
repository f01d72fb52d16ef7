import t from 'tap';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distributionFromOsRelease, hostDistribution } from '../../../src/doctor/distro.js';

t.test("this machine's os-release is read and classified", async (t) => {
  const d = await hostDistribution();
  t.equal(d.id, 'debian');
  t.equal(d.family, 'debian');
  t.match(d.name, /Debian/);
});

// os-release texts as the distributions ship them (abridged to the fields that matter).
const samples: [string, string, string | null][] = [
  ['ubuntu', 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nPRETTY_NAME="Ubuntu 24.04 LTS"\n', 'debian'],
  ['fedora', 'NAME="Fedora Linux"\nID=fedora\nVERSION_ID=40\n', 'fedora'],
  ['rocky', 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\n', 'fedora'],
  ['opensuse', 'NAME="openSUSE Tumbleweed"\nID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"\n', 'suse'],
  ['sles', 'NAME="SLES"\nID="sles"\nID_LIKE="suse"\n', 'suse'],
  ['arch', 'NAME="Arch Linux"\nID=arch\n', 'arch'],
  ['manjaro', 'NAME="Manjaro Linux"\nID=manjaro\nID_LIKE=arch\n', 'arch'],
  ['alpine', 'NAME="Alpine Linux"\nID=alpine\n', null],
];

for (const [label, text, family] of samples) {
  t.test(`${label} is classified as ${family ?? 'unknown'}`, async (t) => {
    t.equal(distributionFromOsRelease(text).family, family);
  });
}

t.test('a name falls back to NAME, then ID', async (t) => {
  t.equal(distributionFromOsRelease('NAME="Gentoo"\nID=gentoo\n').name, 'Gentoo');
  t.equal(distributionFromOsRelease('ID=gentoo\n').name, 'gentoo');
  t.same(distributionFromOsRelease(''), { id: '', name: 'unknown', family: null });
});

t.test('a root without /etc/os-release uses /usr/lib/os-release, and neither means unknown', async (t) => {
  const root = (await mkdtemp(join(tmpdir(), 'found-distro-'))) + '/';
  t.same(await hostDistribution(root), { id: '', name: 'unknown (no os-release)', family: null });
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await writeFile(join(root, 'usr/lib/os-release'), 'ID=fedora\nNAME=Fedora\n');
  t.equal((await hostDistribution(root)).family, 'fedora');
});
