import t from 'tap';
import { BOCHS_VMX_MODELS, bochsCpuModels, judgeEngines, qemuLimits } from '../../../src/doctor/engines.js';
import { probeTools, type ToolStatus } from '../../../src/doctor/tools.js';
import type { ProgramPath } from '../../../src/util/run.js';
import { findExecutable } from '../../../src/util/which.js';

const tools = await probeTools({ family: 'debian' });
const without = (...names: string[]): ToolStatus[] => tools.map((x) => (names.includes(x.name) ? { ...x, found: false, path: null } : x));
const virtualCpu = { vmx: false, svm: false, hypervisor: true };

t.test("lists the CPU models of this machine's Bochs, VT-x ones included", async (t) => {
  const models = await bochsCpuModels((await findExecutable('bochs')) as ProgramPath);
  t.ok(models.includes('bx_generic'), 'bx_generic');
  t.ok(models.length > 10, `${models.length} models`);
  for (const m of BOCHS_VMX_MODELS) t.ok(models.includes(m), m);
});

t.test('a program that lists no models gives none', async (t) => {
  t.same(await bochsCpuModels((await findExecutable('true')) as ProgramPath), []);
});

t.test('this machine: QEMU TCG and Bochs usable, hardware not (no vmx/svm)', async (t) => {
  const models = await bochsCpuModels((await findExecutable('bochs')) as ProgramPath);
  const engines = judgeEngines(tools, virtualCpu, models);
  t.same(engines.map((e) => [e.name, e.usable]), [['qemu-tcg-svm', true], ['bochs-vmx', true], ['hardware', false]]);
  t.match(engines[2]!.reason, /itself a virtual machine/);
});

t.test('an engine without its tools is not usable and says which are missing', async (t) => {
  const engines = judgeEngines(without('qemu-system-x86_64', 'vgabios'), virtualCpu, [...BOCHS_VMX_MODELS]);
  t.same(engines.slice(0, 2).map((e) => [e.usable, e.reason]), [[false, 'needs qemu-system-x86_64'], [false, 'needs vgabios']]);
});

t.test('a Bochs without VT-x models cannot be the VMX engine', async (t) => {
  const [, bochs] = judgeEngines(tools, virtualCpu, ['bx_generic', 'pentium']);
  t.equal(bochs!.usable, false);
  t.match(bochs!.reason, /lacks the VT-x CPU model corei7_skylake_x \(built without VMX\?\)/);
  const [, other] = judgeEngines(tools, virtualCpu, ['bx_generic', 'tigerlake']);
  t.match(other!.reason, /lacks the VT-x CPU model corei7_skylake_x \(it has tigerlake, which tsx-hv does not use\)/);
});

t.test('the Bochs report names its version, both vendors and the --engine value', async (t) => {
  const [qemu, bochs, hw] = judgeEngines(tools, virtualCpu, ['corei7_skylake_x', 'ryzen']);
  t.same([qemu!.engine, bochs!.engine, hw!.engine], ['qemu', 'bochs', null]);
  t.match(bochs!.reason, /^Bochs 2\.7 emulates Intel VT-x \(corei7_skylake_x\) and AMD SVM \(ryzen, --cpu amd\): --engine bochs$/);
  const unversioned = tools.map((x) => (x.name === 'bochs' ? { ...x, version: null } : x));
  const [, noAmd] = judgeEngines(unversioned, virtualCpu, ['corei7_skylake_x']);
  t.equal(noAmd!.reason, 'Bochs emulates Intel VT-x (corei7_skylake_x) (no ryzen model: no --cpu amd): --engine bochs');
});

t.test('hardware needs VT-x or AMD-V on bare metal', async (t) => {
  const hw = (cpu: { vmx: boolean; svm: boolean; hypervisor: boolean }) => judgeEngines(tools, cpu, [])[2]!;
  t.same([hw({ vmx: true, svm: false, hypervisor: false }).usable, hw({ vmx: true, svm: false, hypervisor: false }).reason], [true, 'bare metal with Intel VT-x: tsx-hv media can boot this machine']);
  t.match(hw({ vmx: false, svm: true, hypervisor: false }).reason, /AMD-V/);
  t.match(hw({ vmx: false, svm: true, hypervisor: true }).reason, /offers SVM but this machine runs under a hypervisor/);
  t.match(hw({ vmx: false, svm: false, hypervisor: false }).reason, /disabled in the firmware/);
});

t.test("QEMU's version and what it cannot do: real-mode nested paging and x2APIC need 9.2+", async (t) => {
  t.same(qemuLimits('10.0.2'), []);
  t.same(qemuLimits('9.2.0'), []);
  t.same(qemuLimits('11.1'), []);
  const old = qemuLimits('7.2.22');
  t.equal(old.length, 2);
  t.match(old[0], /nested paging while the guest runs in real mode.*9\.2\+/);
  t.equal(old[1], 'x2APIC');
  t.same(qemuLimits('9.1.3'), old);
  t.match(qemuLimits(null)[0], /version unknown/);
  t.match(qemuLimits('git-snapshot')[0], /nested paging/, 'an unparsable version is treated as old');
  const withVersion = tools.map((x) => (x.name === 'qemu-system-x86_64' ? { ...x, version: '7.2.22' } : x));
  const [qemu] = judgeEngines(withVersion, virtualCpu, []);
  t.equal(qemu!.version, '7.2.22');
  t.match(qemu!.reason, /^QEMU 7\.2\.22 TCG emulates AMD SVM .*; cannot: nested paging while the guest runs in real mode/);
  t.match(qemu!.reason, /machines of 2\+ CPUs run single-threaded/);
  const [q10] = judgeEngines(tools.map((x) => (x.name === 'qemu-system-x86_64' ? { ...x, version: '10.0.2' } : x)), virtualCpu, []);
  t.notMatch(q10!.reason, /cannot/);
});
