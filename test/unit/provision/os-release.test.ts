import t from 'tap';
import { detectDistribution, parseOsRelease } from '../../../src/provision/os-release.js';

t.test('parses quoted, escaped and bare values, skipping comments and junk', async (t) => {
  const f = parseOsRelease('# comment\nID=debian\nNAME="Debian \\"GNU\\"/Linux"\nVERSION_ID=\'12\'\n\nnot a line\nID_LIKE=\n');
  t.same(f, { ID: 'debian', NAME: 'Debian "GNU"/Linux', VERSION_ID: '12', ID_LIKE: '' });
});

t.test('detects Debian and Fedora families by ID or ID_LIKE', async (t) => {
  t.equal(detectDistribution('ID=debian\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"').family, 'debian');
  const ubuntu = detectDistribution('ID=ubuntu\nID_LIKE=debian\nNAME=Ubuntu');
  t.same([ubuntu.id, ubuntu.family, ubuntu.name], ['ubuntu', 'debian', 'Ubuntu']);
  t.equal(detectDistribution('ID=zorin\nID_LIKE="ubuntu debian"').family, 'debian');
  t.equal(detectDistribution('ID=fedora\nVERSION_ID=40').family, 'fedora');
  t.equal(detectDistribution('ID="rocky"\nID_LIKE="rhel centos fedora"').family, 'fedora');
  t.equal(detectDistribution('ID=RHEL').id, 'rhel', 'IDs compare case-insensitively');
});

t.test('refuses an unknown distribution and a missing os-release', async (t) => {
  t.throws(() => detectDistribution('ID=plan9\nNAME="Plan 9"'), { code: 'UNKNOWN_DISTRIBUTION', message: /unsupported distribution "plan9"/ });
  t.throws(() => detectDistribution('ID=arch\nID_LIKE=archlinux'), { message: /"arch" \(ID_LIKE archlinux\)/ });
  t.throws(() => detectDistribution('NAME=nothing'), { message: /"\(no ID\)"/ });
  t.throws(() => detectDistribution(null), { code: 'UNKNOWN_DISTRIBUTION', message: /no \/etc\/os-release/ });
});
