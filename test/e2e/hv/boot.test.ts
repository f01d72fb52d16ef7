/**
 * The hypervisor boots Debian's kernel to the guest agent in QEMU TCG (AMD SVM + nested
 * paging), the guest sees tsx-hv's CPUID signature and keeps the TSC clocksource, and the
 * same media without the hypervisor gives the baseline boot time. A guest that reads and
 * writes the hypervisor's memory range gets only the scratch page and the hypervisor keeps
 * running.
 */
import t from 'tap';
import { bootToAgent, guestExec, hvStatus, panics } from './fixtures.js';

const HV_BASE = 0x200000; // linker.ld HV_BASE; starts with the multiboot2 header
const MB2_MAGIC = 0xe85250d6;

// One boot under the hypervisor serves every check; the baseline boots after it powered off.
const hv = await bootToAgent(t);

t.test('boots Linux under tsx-hv to the agent', async (t) => {
  t.equal(hv.ready.hypervisor, 'tsx-hv-vtime', 'CPUID 0x40000000 signature seen by the guest');
  // Linux starts on tsc-early and switches to tsc once its calibration is refined (a second or
  // so after boot); on a loaded host the agent can be ready before that: ask again.
  let clocksource = hv.ready.clocksource;
  for (let i = 0; clocksource === 'tsc-early' && i < 30; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    clocksource = (await guestExec(hv.m, 'cat /sys/devices/system/clocksource/clocksource0/current_clocksource')).out.trim();
  }
  t.equal(clocksource, 'tsc', 'guest clocksource');
  t.ok(hv.m.hvLog.some((l) => l === '# tsx-hv: guest starting'), 'hypervisor log on its own port');
  const cpuinfo = await guestExec(hv.m, 'grep -m1 ^flags /proc/cpuinfo');
  t.match(cpuinfo.out, /\bhypervisor\b/, 'CPUID.1:ECX hypervisor bit');
  t.notMatch(cpuinfo.out, /\bsvm\b/, 'SVM hidden from the guest');
  t.match(cpuinfo.out, /\btsc_deadline_timer\b/, 'TSC-deadline offered (emulated on the virtual timeline)');
  t.match(cpuinfo.out, /\brdtscp\b/, 'RDTSCP stays visible');
  const serial = await guestExec(hv.m, 'cat /proc/tty/driver/serial');
  t.match(serial.out, /^1: uart:unknown/m, 'the hypervisor port is invisible to the guest (no UART at 0x2f8)');
  t.same(panics(hv.m), []);
});

t.test('a guest touching hypervisor memory gets the scratch page and the hypervisor survives', async (t) => {
  const { m } = hv;
  const addr = `0x${HV_BASE.toString(16)}`;
  const read = await guestExec(m, `devmem ${addr} 32`);
  t.equal(read.exit, 0, `devmem read: ${read.out}`);
  t.not(Number(read.out.trim()), MB2_MAGIC, 'the guest does not read the hypervisor image');
  const write = await guestExec(m, `devmem ${addr} 32 0x5a5a5a5a && devmem 0x${(HV_BASE + 0x3ff000).toString(16)} 32`);
  t.equal(write.exit, 0, `devmem write: ${write.out}`);
  t.equal(Number(write.out.trim()), 0x5a5a5a5a, 'the whole range aliases one scratch page');
  const dd = await guestExec(m, `dd if=/dev/zero of=/dev/mem bs=4096 seek=${HV_BASE / 4096} count=1536 2>&1; echo dd=$?`);
  t.comment(`dd over the hypervisor range: ${dd.out.trim().split('\n').pop()}`);
  const status = await hvStatus(m);
  t.ok(status.exits_total > 0, 'control port still answers');
  t.match(await m.agent('clock'), /mono=\d+/, 'guest still answers');
  t.same(panics(m), []);
});

t.test('the same media without the hypervisor gives the baseline boot time', async (t) => {
  await hv.m.powerOff();
  const base = await bootToAgent(t, { hypervisor: false });
  t.equal(base.ready.hypervisor, null, 'baseline runs without tsx-hv');
  await base.m.powerOff();
  const overhead = ((hv.bootMs - base.bootMs) / base.bootMs) * 100;
  t.comment(`boot to agent ready: ${(hv.bootMs / 1000).toFixed(2)} s with tsx-hv, ${(base.bootMs / 1000).toFixed(2)} s without (${overhead.toFixed(1)}%)`);
});
