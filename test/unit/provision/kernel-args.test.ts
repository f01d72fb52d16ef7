import t from 'tap';
import { hasKernelArgs, kernelArgs, mergeKernelArgs } from '../../../src/provision/kernel-args.js';

t.test('tsc=reliable always comes first; --append chunks are split and deduplicated', async (t) => {
  t.same(kernelArgs(), ['tsc=reliable']);
  t.same(kernelArgs([], { extremeSpeeds: true }), ['tsc=reliable', 'nowatchdog', 'rcupdate.rcu_cpu_stall_suppress=1', 'sysctl.kernel.hung_task_timeout_secs=0', 'workqueue.watchdog_thresh=0']);
  t.same(kernelArgs(['nowatchdog'], { extremeSpeeds: true }).filter((a) => a === 'nowatchdog').length, 1, 'no duplicates');
  t.same(kernelArgs(['clocksource=tsc  nohz=off', 'tsc=reliable', 'nohz=off']), ['tsc=reliable', 'clocksource=tsc', 'nohz=off']);
});

t.test('refuses arguments with shell or quoting characters', async (t) => {
  t.throws(() => kernelArgs(['init=/bin/sh;reboot']), { name: 'UsageError', message: /"init=\/bin\/sh;reboot"/ });
  t.throws(() => kernelArgs(['a="b c"']), { name: 'UsageError' });
});

t.test('merges into a command line: keeps present ones, replaces a conflicting value', async (t) => {
  t.equal(mergeKernelArgs('', ['tsc=reliable']), 'tsc=reliable');
  t.equal(mergeKernelArgs('quiet  splash', ['tsc=reliable']), 'quiet splash tsc=reliable');
  t.equal(mergeKernelArgs('quiet tsc=reliable', ['tsc=reliable']), 'quiet tsc=reliable');
  t.equal(mergeKernelArgs('tsc=unstable quiet', ['tsc=reliable', 'nosmt']), 'quiet tsc=reliable nosmt');
  t.equal(mergeKernelArgs('nosmt', ['nosmt']), 'nosmt');
});

t.test('hasKernelArgs needs every argument as a whole token', async (t) => {
  t.ok(hasKernelArgs('ro tsc=reliable quiet', ['tsc=reliable']));
  t.notOk(hasKernelArgs('ro tsc=reliablex', ['tsc=reliable']));
  t.notOk(hasKernelArgs('tsc=reliable', ['tsc=reliable', 'nosmt']));
});
