import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { judgeKvm, probeKvm, type KvmFacts } from '../../../src/doctor/kvm.js';
import { parseCpuinfo } from '../../../src/doctor/cpu.js';
import { readFile } from 'node:fs/promises';

const hostCpu = parseCpuinfo(await readFile('/proc/cpuinfo', 'utf8'));
const facts = (over: Partial<KvmFacts>): KvmFacts => ({ device: '/dev/kvm', present: true, accessible: true, modules: ['kvm', 'kvm_amd'], nested: true, ...over });
const amd = { vmx: false, svm: true };
const intel = { vmx: true, svm: false };
const neither = { vmx: false, svm: false };

t.test("reports this machine's /dev/kvm as it is", async (t) => {
  const k = await probeKvm(hostCpu);
  t.equal(k.present, existsSync('/dev/kvm'));
  t.same(k.modules, readdirSync('/sys/module').filter((m) => /^kvm(_\w+)?$/.test(m)).sort());
  if (!hostCpu.vmx && !hostCpu.svm) {
    t.equal(k.canRunNestedHypervisor, false, 'no VMX/SVM on this CPU: no nested hypervisor');
    t.match(k.reason, /neither VMX nor SVM/);
  }
  if (k.modules.includes('kvm_pvm')) t.match(k.reason, /kvm_pvm, a paravirtual \(PVM\) backend/);
});

t.test('a CPU with SVM, kvm_amd and nested=1 can run a nested hypervisor', async (t) => {
  const k = judgeKvm(facts({}), amd);
  t.equal(k.canRunNestedHypervisor, true);
  t.match(k.reason, /kvm_amd with nested=1/);
  t.equal(judgeKvm(facts({ modules: ['kvm', 'kvm_intel'] }), intel).canRunNestedHypervisor, true);
});

t.test('each missing condition is named', async (t) => {
  const cases: [KvmFacts, { vmx: boolean; svm: boolean }, RegExp][] = [
    [facts({ present: false, accessible: false }), amd, /there is no \/dev\/kvm/],
    [facts({ accessible: false }), amd, /cannot open it/],
    [facts({ nested: false }), amd, /kvm_amd was loaded without nested virtualisation .*modprobe kvm_amd nested=1/],
    [facts({ nested: null, modules: ['kvm'] }), intel, /kvm_intel is not loaded/],
    [facts({ modules: ['kvm', 'kvm_pvm'], nested: null }), neither, /neither VMX nor SVM.*; \/dev\/kvm is served by kvm_pvm/],
  ];
  for (const [f, cpu, reason] of cases) {
    const k = judgeKvm(f, cpu);
    t.equal(k.canRunNestedHypervisor, false);
    t.match(k.reason, reason);
  }
});

t.test('reads the vendor module and its nested parameter from sysfs', async (t) => {
  const root = (await mkdtemp(join(tmpdir(), 'found-kvm-'))) + '/';
  await mkdir(join(root, 'dev'));
  await writeFile(join(root, 'dev/kvm'), '');
  await mkdir(join(root, 'sys/module/kvm_amd/parameters'), { recursive: true });
  await mkdir(join(root, 'sys/module/kvm'), { recursive: true });
  await mkdir(join(root, 'sys/module/ext4'), { recursive: true });
  await writeFile(join(root, 'sys/module/kvm_amd/parameters/nested'), '1\n');
  const k = await probeKvm(amd, root);
  t.same([k.present, k.modules, k.nested, k.canRunNestedHypervisor], [true, ['kvm', 'kvm_amd'], true, true]);
  await writeFile(join(root, 'sys/module/kvm_amd/parameters/nested'), 'N\n');
  t.equal((await probeKvm(amd, root)).nested, false);
});

t.test('a root without /dev/kvm or /sys/module has nothing', async (t) => {
  const root = (await mkdtemp(join(tmpdir(), 'found-kvm-'))) + '/';
  const k = await probeKvm(amd, root);
  t.same([k.present, k.accessible, k.modules, k.nested], [false, false, [], null]);
});
