import t from 'tap';
import { parseTargetSpec } from '../../../src/provision/target.js';

t.test('parses the three target kinds', async (t) => {
  t.same(parseTargetSpec('dir:/mnt/root'), { kind: 'dir', path: '/mnt/root' });
  t.same(parseTargetSpec('image:disk.qcow2'), { kind: 'image', path: 'disk.qcow2' });
  t.same(parseTargetSpec('ssh://root@lab-17:2222'), { kind: 'ssh', user: 'root', host: 'lab-17', port: 2222 });
  t.same(parseTargetSpec('ssh://lab-17'), { kind: 'ssh', user: undefined, host: 'lab-17', port: undefined });
  t.same(parseTargetSpec('ssh://admin@[fe80::1]:22/'), { kind: 'ssh', user: 'admin', host: 'fe80::1', port: 22 });
});

t.test('rejects malformed specs with a usage error', async (t) => {
  for (const bad of ['dir:', 'image:', 'ssh://', 'ssh://a@b@c', 'ssh://host:0', 'ssh://host:70000', '/mnt/root', 'nfs://x']) {
    t.throws(() => parseTargetSpec(bad), { name: 'UsageError' }, bad);
  }
});
