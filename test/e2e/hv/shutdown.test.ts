/**
 * A guest triple fault exits with SHUTDOWN: the hypervisor logs it with the guest's state on
 * its port and then performs on-shutdown (default poweroff: the emulator exits). Linux is
 * told to reboot by triple fault (reboot=t) and asked to reboot through sysrq.
 */
import t from 'tap';
import { bootToAgent, guestExec, mediaWithAppend } from './fixtures.js';

t.test('a guest triple fault is logged with state and the machine powers off', async (t) => {
  const media = await mediaWithAppend('reboot=t');
  const { m } = await bootToAgent(t, { media });
  await guestExec(m, 'echo 1 > /proc/sys/kernel/sysrq; (sleep 1; echo b > /proc/sysrq-trigger) >/dev/null 2>&1 &');
  const exit = await Promise.race([m.exited, new Promise<null>((r) => setTimeout(() => r(null), 120_000))]);
  t.not(exit, null, 'the machine powered off by itself');
  t.ok(m.hvLog.includes('# tsx-hv: guest shutdown (triple fault)'), 'shutdown logged');
  t.ok(m.hvLog.some((l) => /^# PANIC rip=[0-9a-f]{16} /.test(l)), 'guest state dumped');
  t.ok(m.hvLog.includes('# tsx-hv: machine poweroff'), 'on-shutdown=poweroff performed');
});
