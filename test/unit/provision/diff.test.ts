import t from 'tap';
import { unifiedDiff } from '../../../src/provision/diff.js';

t.test('unified diff of a change, a creation, a removal and binary content', async (t) => {
  t.equal(await unifiedDiff('/etc/x', Buffer.from('a\nb\n'), Buffer.from('a\nc\n')), '--- a/etc/x\n+++ b/etc/x\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n');
  t.equal(await unifiedDiff('/etc/new', null, Buffer.from('n\n')), '--- /dev/null\n+++ b/etc/new\n@@ -0,0 +1 @@\n+n\n');
  t.equal(await unifiedDiff('/etc/old', Buffer.from('o'), null), '--- a/etc/old\n+++ /dev/null\n@@ -1 +0,0 @@\n-o\n\\ No newline at end of file\n');
  t.equal(await unifiedDiff('/bin/x', null, Buffer.from([0x7f, 0x45, 0, 1])), 'Binary file /bin/x: absent -> 4 bytes\n');
  t.equal(await unifiedDiff('/bin/x', Buffer.from([0]), null), 'Binary file /bin/x: 1 bytes -> absent\n');
  t.equal(await unifiedDiff('/same', Buffer.from('s'), Buffer.from('s')), '');
});
