import t from 'tap';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { combineCpuFacts, parseCpuinfo, parseKernelLog, probeCpu } from '../../../src/doctor/cpu.js';
import { cpuProbe, nativeAvailable } from '../../../src/native.js';
import { runProgram as run } from '../../../src/util/run.js';

const cpuinfo = await readFile('/proc/cpuinfo', 'utf8');
const flags = new Set((/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '').trim().split(/\s+/));

t.test("parses this machine's /proc/cpuinfo", async (t) => {
  const c = parseCpuinfo(cpuinfo);
  t.equal(c.vendor, /^vendor_id\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]);
  t.equal(c.model, /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]);
  t.equal(c.logicalCpus, (cpuinfo.match(/^processor\s*:/gm) ?? []).length);
  t.equal(c.vmx, flags.has('vmx'));
  t.equal(c.svm, flags.has('svm'));
  t.equal(c.hypervisor, flags.has('hypervisor'));
  t.equal(c.invariantTsc, flags.has('constant_tsc') && flags.has('nonstop_tsc'));
  t.equal(c.tscDeadline, flags.has('tsc_deadline_timer'));
  t.equal(c.rdtscp, flags.has('rdtscp'));
  t.equal(c.mhz, Number.parseFloat(/^cpu MHz\s*:\s*(.*)$/m.exec(cpuinfo)![1]!));
});

t.test('invariant TSC needs both constant_tsc and nonstop_tsc', async (t) => {
  const block = (f: string) => `processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: ${f}\n`;
  t.equal(parseCpuinfo(block('tsc constant_tsc nonstop_tsc vmx')).invariantTsc, true);
  t.equal(parseCpuinfo(block('tsc constant_tsc vmx')).invariantTsc, false);
  t.equal(parseCpuinfo(block('tsc constant_tsc vmx')).vmx, true);
});

t.test('text without processor blocks gives an empty report', async (t) => {
  const c = parseCpuinfo('');
  t.same([c.vendor, c.model, c.logicalCpus, c.mhz, c.vmx], [null, null, 0, null, false]);
});

t.test("reads the TSC frequency and hypervisor from this machine's kernel log", async (t) => {
  const dmesg = (await run('dmesg', [])).stdout;
  const log = parseKernelLog(dmesg);
  const mhz = (/Refined TSC clocksource calibration: ([\d.]+) MHz/.exec(dmesg) ?? /tsc: Detected ([\d.]+) MHz/.exec(dmesg))?.[1];
  t.equal(log.tscHz, mhz ? Math.round(Number.parseFloat(mhz) * 1e6) : null);
  t.equal(log.hypervisorVendor, /Hypervisor detected: (.+)$/m.exec(dmesg)?.[1] ?? null);
});

t.test('the refined calibration wins over the early one', async (t) => {
  const text = '[0.0] tsc: Detected 2400.000 MHz processor\n[1.2] tsc: Refined TSC clocksource calibration: 2399.998 MHz\n';
  t.same(parseKernelLog(text), { tscHz: 2_399_998_000, hypervisorVendor: null });
  t.same(parseKernelLog(''), { tscHz: null, hypervisorVendor: null });
});

t.test('without the addon: /proc/cpuinfo facts, kernel TSC, else cpu MHz', async (t) => {
  const facts = parseCpuinfo(cpuinfo);
  const fromLog = combineCpuFacts(facts, { tscHz: 2_000_000_000, hypervisorVendor: 'KVM' }, 'tsc', null, 'not built');
  t.same([fromLog.source, fromLog.tscHz, fromLog.tscHzSource, fromLog.addonUnavailable, fromLog.hypervisorSignature], ['proc-cpuinfo', 2_000_000_000, 'kernel-log', 'not built', null]);
  const fromMhz = combineCpuFacts({ ...facts, mhz: 1234.5 }, { tscHz: null, hypervisorVendor: null }, null, null, 'x');
  t.same([fromMhz.tscHz, fromMhz.tscHzSource], [1_234_500_000, 'cpuinfo-mhz']);
  const none = combineCpuFacts({ ...facts, mhz: null }, { tscHz: null, hypervisorVendor: null }, null, null, 'x');
  t.same([none.tscHz, none.tscHzSource], [null, null]);
  t.notOk('mhz' in none);
});

t.test('with the addon: CPUID facts, and the TSC frequency from CPUID leaves when announced', { skip: !nativeAvailable() && 'the native addon is not built here' }, async (t) => {
  const probe = cpuProbe();
  const facts = parseCpuinfo(cpuinfo);
  const kernel = { tscHz: 2_000_000_000, hypervisorVendor: null };
  const c = combineCpuFacts(facts, kernel, 'tsc', probe, null);
  t.same([c.source, c.vendor, c.model, c.vmx, c.svm, c.hypervisor], ['native-addon', probe.vendor, probe.brand, probe.vmx, probe.svm, probe.hypervisor]);
  t.equal(c.vmx, flags.has('vmx'), 'CPUID agrees with /proc/cpuinfo on vmx');
  t.equal(c.svm, flags.has('svm'), 'CPUID agrees with /proc/cpuinfo on svm');
  const leaf15 = combineCpuFacts(facts, kernel, 'tsc', { ...probe, tscLeaf15: { denominator: 2, numerator: 200, crystalHz: 24_000_000, tscHz: 2_400_000_000 } }, null);
  t.same([leaf15.tscHz, leaf15.tscHzSource], [2_400_000_000, 'cpuid-15h']);
  const leaf40 = combineCpuFacts(facts, kernel, 'tsc', { ...probe, tscLeaf15: null, hypervisorTscKhz: 2_445_404 }, null);
  t.same([leaf40.tscHz, leaf40.tscHzSource], [2_445_404_000, 'cpuid-40000010h']);
  const fallback = combineCpuFacts(facts, kernel, 'tsc', { ...probe, tscLeaf15: null, hypervisorTscKhz: null }, null);
  t.same([fallback.tscHz, fallback.tscHzSource], [2_000_000_000, 'kernel-log']);
});

t.test('probes this machine: through the addon when it loads', { skip: !nativeAvailable() && 'the native addon is not built here' }, async (t) => {
  const c = await probeCpu();
  t.equal(c.source, 'native-addon');
  t.equal(c.addonUnavailable, null);
  t.equal(c.clocksource, (await readFile('/sys/devices/system/clocksource/clocksource0/current_clocksource', 'utf8')).trim());
  t.ok(c.tscHz === null || c.tscHz > 100e6);
});

t.test('probes this machine from /proc/cpuinfo when the addon does not load', async (t) => {
  const saved = process.env.TSX_HV_NATIVE;
  process.env.TSX_HV_NATIVE = '/nonexistent/tsx_hv_native.node';
  t.teardown(() => {
    if (saved === undefined) delete process.env.TSX_HV_NATIVE;
    else process.env.TSX_HV_NATIVE = saved;
  });
  const c = await probeCpu();
  t.equal(c.source, 'proc-cpuinfo');
  t.match(c.addonUnavailable, /native addon is not available/);
  t.equal(c.svm, flags.has('svm'));
});

t.test('a root without a clocksource in sysfs reports none', async (t) => {
  const root = (await mkdtemp(join(tmpdir(), 'found-cpu-'))) + '/';
  await mkdir(join(root, 'proc'));
  await writeFile(join(root, 'proc/cpuinfo'), cpuinfo);
  t.equal((await probeCpu(root)).clocksource, null);
});
