import t from 'tap';
import { BOCHS_VMX_MODELS, bochsCpuModels, judgeEngines } from '../../../src/doctor/engines.js';
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
