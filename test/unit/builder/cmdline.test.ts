import t from 'tap';
import { BASE_GUEST_CMDLINE, checkArgs, guestCmdline, hypervisorArgs } from '../../../src/builder/cmdline.js';
import { UsageError } from '../../../src/errors.js';

t.test('the guest command line has the console, tsc=reliable and a low log level', async (t) => {
  t.equal(guestCmdline(), 'console=ttyS0,115200 tsc=reliable loglevel=4');
  t.same([...BASE_GUEST_CMDLINE], ['console=ttyS0,115200', 'tsc=reliable', 'loglevel=4']);
});

t.test('--append is added after the defaults, whitespace normalised', async (t) => {
  t.equal(guestCmdline('  quiet   panic=5 '), 'console=ttyS0,115200 tsc=reliable loglevel=4 quiet panic=5');
  t.equal(guestCmdline(''), 'console=ttyS0,115200 tsc=reliable loglevel=4');
});

t.test('hypervisor args default to the COM2 port and take additions', async (t) => {
  t.equal(hypervisorArgs(), 'serial=0x2f8');
  t.equal(hypervisorArgs('grace=5 on-shutdown=halt'), 'serial=0x2f8 grace=5 on-shutdown=halt');
});

t.test('refuses characters that would break out of a GRUB line', async (t) => {
  for (const bad of ['a\nb', 'x"y', "it's", 'a;b', '$x', 'a\\b', '{', '`id`']) {
    t.throws(() => guestCmdline(bad), UsageError, JSON.stringify(bad));
    t.throws(() => hypervisorArgs(bad), UsageError);
  }
  t.equal(checkArgs('--x', 'a=b,c'), 'a=b,c');
});
