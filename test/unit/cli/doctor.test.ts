import t from 'tap';
import { Writable } from 'node:stream';
import { install, printReport } from '../../../src/cli/doctor.js';
import { main } from '../../../src/cli/main.js';
import { Output } from '../../../src/cli/output.js';
import { TOOLS } from '../../../src/doctor/catalog.js';
import { doctor, type DoctorReport } from '../../../src/doctor/index.js';

function sink(): { stream: Writable; text: () => string } {
  let buf = '';
  const stream = new Writable({ write(chunk, _enc, cb) { buf += String(chunk); cb(); } });
  return { stream, text: () => buf };
}

async function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; out: string; err: string }> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  try {
    const out = sink();
    const err = sink();
    const code = await main(['node', 'tsx-hv', ...args], { stdout: out.stream, stderr: err.stream });
    return { code, out: out.text(), err: err.text() };
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  }
}

t.test('doctor --json: one document listing every tool with found, version and neededBy', async (t) => {
  const r = await cli(['doctor', '--json']);
  t.equal(r.code, 0);
  const doc = JSON.parse(r.out);
  t.same(Object.keys(doc).slice(0, 4), ['tools', 'cpu', 'kvm', 'engines']);
  t.same(doc.tools.map((x: { name: string }) => x.name), TOOLS.map((x) => x.name));
  for (const tool of doc.tools) {
    if (tool.optional && !tool.found) continue; // e.g. sudo when working as root
    t.equal(tool.found, true, tool.name);
    t.type(tool.version, 'string');
    t.ok(Array.isArray(tool.neededBy) && tool.neededBy.length > 0);
  }
  t.equal(r.err, '');
});

t.test('doctor prints tables of tools, CPU, KVM and engines', async (t) => {
  const r = await cli(['doctor'], { FORCE_COLOR: undefined, NO_COLOR: undefined });
  t.equal(r.code, 0);
  t.match(r.out, /^Host: Debian/);
  t.match(r.out, /\nTOOL +STATUS +VERSION +PACKAGE +NEEDED BY\nqemu-system-x86_64 +ok +\S+ +qemu-system-x86 +run, test\n/);
  t.match(r.out, /\nCPU +\S+ .*logical CPUs/);
  t.match(r.out, /TSC frequency: /);
  t.match(r.out, /\nKVM +\/dev\/kvm .*can run a nested hypervisor: (yes|no)\n/);
  t.match(r.out, /\nENGINE +USABLE +WHY\nqemu-tcg-svm +yes /);
  t.match(r.out, /All \d+ required tools found\.\n$/);
  t.notMatch(r.out, /\u001b\[/, 'no colour without a TTY');
});

t.test('colour with FORCE_COLOR, none with --no-color (NO_COLOR: see output.test.ts)', async (t) => {
  // tap runs tests with NO_COLOR=1 FORCE_COLOR=0; each case sets both.
  t.match((await cli(['doctor'], { FORCE_COLOR: '1', NO_COLOR: undefined })).out, /\u001b\[32mok\u001b\[0m/);
  t.notMatch((await cli(['doctor', '--no-color'], { FORCE_COLOR: '1', NO_COLOR: undefined })).out, /\u001b\[/);
});

t.test('doctor --quiet prints nothing when everything is there', async (t) => {
  const r = await cli(['--quiet', 'doctor']);
  t.same(r, { code: 0, out: '', err: '' });
});

t.test('doctor --install with nothing missing installs nothing', async (t) => {
  const r = await cli(['doctor', '--install']);
  t.equal(r.code, 0);
  t.match(r.out, /^nothing to install: every required tool is present\n/);
});

t.test('missing tools: marked in the table, warned about with the install command, exit 77', async (t) => {
  const r = await cli(['doctor'], { PATH: '/nonexistent' });
  t.equal(r.code, 77);
  t.match(r.out, /\nqemu-system-x86_64 +missing +- +qemu-system-x86 /);
  t.match(r.err, /^warning: missing: qemu-system-x86_64, /);
  t.match(r.err, /\nwarning: install with: apt-get .*install -y --no-install-recommends qemu-system-x86 .*\(or: tsx-hv doctor --install\)\n$/);
  t.match(r.out, /qemu-tcg-svm +no +needs qemu-system-x86_64/);
});

t.test('a missing optional tool (valgrind: benchmark only) is shown but doctor still exits 0', async (t) => {
  const dir = t.testdir();
  const { symlink } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { findTool } = await import('../../../src/doctor/locate.js');
  for (const spec of TOOLS) {
    if (!('programs' in spec) || ('optional' in spec && spec.optional)) continue;
    const path = await findTool(spec.name);
    if (path) await symlink(path, join(dir, path.split('/').pop()!));
  }
  const r = await cli(['doctor'], { PATH: dir });
  t.equal(r.code, 0, r.err);
  t.match(r.out, /\nvalgrind +optional +- +valgrind +npm run bench:vtime\n/);
  t.match(r.out, /\noptional, not installed: valgrind \(only the vtime benchmark counts instructions with it\)\n/);
  t.match(r.out, /All \d+ required tools found\.\n$/);
  t.notMatch(r.err, /warning: missing/);
  const json = await cli(['doctor', '--json'], { PATH: dir });
  t.equal(json.code, 0);
  const doc = JSON.parse(json.out);
  t.same(doc.missing, []);
  t.ok(doc.optionalMissing.includes('valgrind'));
});

t.test('missing tools with --quiet: only the warnings; with --json: exit 77 and the list', async (t) => {
  const quiet = await cli(['doctor', '-q'], { PATH: '/nonexistent' });
  t.same([quiet.code, quiet.out], [77, '']);
  t.match(quiet.err, /^warning: missing: /);
  const json = await cli(['doctor', '--json'], { PATH: '/nonexistent' });
  t.equal(json.code, 77);
  t.ok(JSON.parse(json.out).missing.includes('cmake'));
});

function printed(report: DoctorReport): string {
  const out = sink();
  printReport(report, new Output({ json: false, verbose: false, quiet: false, color: false }, out.stream, sink().stream));
  return out.text();
}

t.test('the human report describes other machines too', async (t) => {
  const real = await doctor();
  const bareIntel = printed({
    ...real,
    cpu: { ...real.cpu, vendor: null, model: null, vmx: true, svm: false, hypervisor: false, hypervisorVendor: null, hypervisorSignature: null, tscHz: null, tscHzSource: null, clocksource: null, source: 'proc-cpuinfo', addonUnavailable: 'not built' },
    kvm: { ...real.kvm, present: false, accessible: false, modules: [], canRunNestedHypervisor: false, reason: 'there is no /dev/kvm' },
    tools: real.tools.map((x) => (x.name === 'busybox-static' ? { ...x, found: false, version: null, problem: '/usr/bin/busybox is not a statically linked program' } : x.name === 'ovmf' ? { ...x, version: null } : x)),
  });
  t.match(bareIntel, /CPU +unknown vendor , \d+ logical CPUs \(from \/proc\/cpuinfo; native addon unavailable\)/);
  t.match(bareIntel, /virtualisation: VT-x \(vmx\) +under a hypervisor: no \(bare metal\)/);
  t.match(bareIntel, /TSC frequency: unknown +clocksource: unknown/);
  t.match(bareIntel, /KVM +\/dev\/kvm absent; can run a nested hypervisor: no/);
  t.match(bareIntel, /busybox-static +missing +- /);
  t.match(bareIntel, /ovmf +ok +\? /);
  t.match(bareIntel, /\n {2}busybox-static: \/usr\/bin\/busybox is not a statically linked program\n/);
  const amdHost = printed({
    ...real,
    cpu: { ...real.cpu, vmx: false, svm: true, hypervisor: true, hypervisorVendor: null, hypervisorSignature: null, source: 'proc-cpuinfo', addonUnavailable: null },
    kvm: { ...real.kvm, present: true, accessible: false, modules: ['kvm', 'kvm_amd'], canRunNestedHypervisor: true, reason: 'x' },
    tools: real.tools.map((x) => (x.name === 'bochs' ? { ...x, package: null } : x)),
  });
  t.match(amdHost, /virtualisation: AMD-V \(svm\) +under a hypervisor: yes\n/);
  t.match(amdHost, /\(from \/proc\/cpuinfo\)\n/);
  t.match(amdHost, /present, not accessible \(modules kvm, kvm_amd\); can run a nested hypervisor: yes/);
  t.match(amdHost, /\nbochs +ok +\S+ +\(none\) /);
});

t.test('--install elsewhere warns with the exact command and keeps the report', async (t) => {
  const real = await doctor();
  const fedora = { ...real, missing: ['cpio'], distribution: { id: 'fedora', name: 'Fedora Linux 40', family: 'fedora' as const } };
  const err = sink();
  const out = new Output({ json: false, verbose: false, quiet: false, color: false }, sink().stream, err.stream);
  t.equal(await install(fedora, out), fedora);
  t.match(err.text(), /^warning: tsx-hv installs packages itself only on Debian\/Ubuntu. On Fedora Linux 40 run:\n {2}(sudo )?dnf install -y cpio\n$/);
});

t.test('--install on Debian runs apt-get for what is missing and probes again', { skip: process.getuid?.() !== 0 && 'needs root' }, async (t) => {
  const real = await doctor();
  const stdout = sink();
  const out = new Output({ json: false, verbose: false, quiet: false, color: false }, stdout.stream, sink().stream);
  // cpio is installed (CI installs .ci/apt-packages.txt): apt-get runs for real and changes nothing.
  const after = await install({ ...real, missing: ['cpio'] }, out);
  t.equal(stdout.text(), 'installing cpio with apt-get ...\n');
  t.same(after.missing, []);
});
