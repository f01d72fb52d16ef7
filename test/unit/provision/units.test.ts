import t from 'tap';
import { enablingLinks, isMasked } from '../../../src/provision/units.js';
import type { FileState } from '../../../src/provision/types.js';

const link = (target: string): FileState => ({ type: 'link', target, uid: 0, gid: 0 });

t.test('reads enablement and masking from /etc/systemd/system symlinks', async (t) => {
  const tree = new Map<string, FileState>([
    ['/etc/systemd/system', { type: 'dir', mode: 0o755, uid: 0, gid: 0 }],
    ['/etc/systemd/system/chronyd.service', link('/lib/systemd/system/chrony.service')],
    ['/etc/systemd/system/multi-user.target.wants/chrony.service', link('/lib/systemd/system/chrony.service')],
    ['/etc/systemd/system/multi-user.target.wants/ssh.service', link('/lib/systemd/system/ssh.service')],
    ['/etc/systemd/system/systemd-timesyncd.service', link('/dev/null')],
    ['/etc/systemd/system/local.conf', { type: 'file', mode: 0o644, uid: 0, gid: 0, content: Buffer.from('') }],
  ]);
  t.same(enablingLinks(tree, 'chrony.service'), ['/etc/systemd/system/chronyd.service', '/etc/systemd/system/multi-user.target.wants/chrony.service']);
  t.notOk(isMasked(tree, 'chrony.service'));
  t.ok(isMasked(tree, 'systemd-timesyncd.service'));
  t.same(enablingLinks(tree, 'systemd-timesyncd.service'), [], 'the mask link does not enable');
  t.notOk(isMasked(tree, 'ntp.service'));
});
