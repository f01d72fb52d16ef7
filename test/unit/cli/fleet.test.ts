import t, { type Test } from 'tap';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../../src/cli/main.js';
import { registerFleet } from '../../../src/cli/fleet.js';

function sink(): { stream: Writable; text: () => string } {
  let buf = '';
  const stream = new Writable({ write(chunk, _enc, cb) { buf += String(chunk); cb(); } });
  return { stream, text: () => buf };
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const code = await main(['node', 'tsx-hv', ...args], { stdout: out.stream, stderr: err.stream, commands: [registerFleet] });
  return { code, out: out.text(), err: err.text() };
}

/** A build directory with the files netboot copies, and an output directory beside it. */
async function workspace(t: Test): Promise<{ build: string; out: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cli-fleet-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const build = join(dir, 'build');
  for (const path of ['hv-core/tsx-hv.elf', 'hv-core/tsx-hv-efi.elf', 'guest/vmlinuz', 'guest/initrd.img', 'media/grub.cfg']) {
    await mkdir(join(build, path, '..'), { recursive: true });
    await writeFile(join(build, path), path);
  }
  return { build, out: join(dir, 'netboot') };
}

t.test('netboot writes the tree and prints where, and how to start dnsmasq', async (t) => {
  const { build, out } = await workspace(t);
  const r = await cli(['fleet', 'netboot', '--interface', 'lo', '--server', '10.9.8.7/24', '--build-dir', build, '--out', out]);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^wrote the netboot tree for lo, this host 10\.9\.8\.7: proxy-DHCP beside the network's DHCP server on 10\.9\.8\.0\/24$/m);
  t.match(r.out, new RegExp(`tftp root +${out}/tftp`));
  t.match(r.out, /BIOS +boot\/grub\/i386-pc\/core\.0/);
  t.match(r.out, /UEFI +boot\/grub\/x86_64-efi\/core\.efi/);
  t.match(r.out, new RegExp(`start it \\(as root\\): \\S*dnsmasq --keep-in-foreground --conf-file=${out}/dnsmasq\\.conf`));
  t.match(r.err, /warning: lo does not carry 10\.9\.8\.7/);
  t.equal(await readFile(join(out, 'tftp', 'boot', 'vmlinuz'), 'utf8'), 'guest/vmlinuz');
});

t.test('--dry-run --json: one document on stdout, the configuration printed on stderr, nothing written', async (t) => {
  const { build, out } = await workspace(t);
  const r = await cli(['fleet', 'netboot', '--interface', 'lo', '--server', '10.9.8.7/24', '--dhcp-range', '10.9.8.100-10.9.8.120', '--build-dir', build, '--out', out, '--dry-run', '--json']);
  t.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as { mode: string; dryRun: boolean; range: unknown; dnsmasqConfText: string };
  t.equal(doc.mode, 'dhcp');
  t.equal(doc.dryRun, true);
  t.same(doc.range, { start: '10.9.8.100', end: '10.9.8.120' });
  t.match(r.err, /^would write the netboot tree for lo, this host 10\.9\.8\.7: DHCP for 10\.9\.8\.100 to 10\.9\.8\.120 \(no router, no DNS\)$/m);
  t.ok(r.err.includes(doc.dnsmasqConfText.trimEnd()), 'the dry run shows the dnsmasq.conf');
  t.notOk(await stat(out).catch(() => null), 'nothing written');
});

t.test('bad input: one error line with a hint, never a stack', async (t) => {
  const { build } = await workspace(t);
  const cases: Array<[string[], number, RegExp]> = [
    [['--interface', 'eth 0', '--server', '10.9.8.7/24'], 2, /^error: --interface "eth 0" is not a network interface name\nhint: /],
    [['--interface', 'lo', '--server', '10.9.8.7'], 2, /^error: --server "10\.9\.8\.7" is not ADDRESS\/PREFIX\nhint: .*--server 192\.168\.50\.1\/24/],
    [['--interface', 'lo', '--server', '10.9.8.7/24', '--dhcp-range', '10.9.9.1-10.9.9.9'], 2, /^error: --dhcp-range "10\.9\.9\.1-10\.9\.9\.9" is not inside the hosts of 10\.9\.8\.0\/24/],
    [['--interface', 'lo'], 2, /required option '--server <address\/prefix>' not specified/],
    [['--interface', 'lo', '--server', '10.9.8.7/24', '--build-dir', join(build, 'nothing')], 1, /^error: the boot media's files are not built: .*\nhint: run `tsx-hv build` first/],
  ];
  for (const [args, code, message] of cases) {
    const r = await cli(['fleet', 'netboot', ...(args.includes('--build-dir') ? args : [...args, '--build-dir', build]), '--dry-run']);
    t.equal(r.code, code, args.join(' '));
    t.match(r.err, message, args.join(' '));
    t.notMatch(r.err, /\n\s+at /, 'no stack trace');
  }
});

t.test('fleet alone lists its subcommands; the help has examples', async (t) => {
  const r = await cli(['fleet', '--help']);
  t.equal(r.code, 0);
  for (const sub of ['plan', 'rollout', 'status', 'rollback', 'netboot']) t.match(r.out, new RegExp(`\\n  ${sub} \\[options\\]`), sub);
  t.match(r.out, /Examples:\n {2}\$ tsx-hv fleet plan --inventory lab\.ini\n/);
  t.match(r.out, /\$ tsx-hv fleet netboot --interface eno1/);
  const rollout = await cli(['fleet', 'rollout', '--help']);
  for (const flag of ['--inventory <file>', '--limit <pattern>', '--waves <list>', '--max-fail <percent>', '--journal <file>', '--restart', '--junit <file>', '-e, --extra-vars <vars>']) t.ok(rollout.out.includes(flag), `rollout --help: ${flag}`);
  const sub = await cli(['fleet', 'netboot', '--help']);
  t.match(sub.out, /--dhcp-range <start-end>/);
  t.match(sub.out, /Examples:\n {2}\$ tsx-hv fleet netboot --interface eno1 --server 192\.168\.50\.1\/24/);
});

t.test('plan, status and rollback through the CLI: human table, NDJSON, JUnit, exit codes; flags are checked first', async (t) => {
  const { findTool } = await import('../../../src/doctor/locate.js');
  const { existsSync, readFileSync } = await import('node:fs');
  if (!(await findTool('ansible-playbook'))) return t.comment('ansible-playbook is not installed: only the flag checks run');
  if (existsSync('/var/lib/tsx-hv/provision/manifest.json')) return t.comment('this machine was provisioned by tsx-hv: a rollback here would revert it');
  const virt = /^flags\s*:.*\b(svm|vmx)\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  const dir = await mkdtemp(join(tmpdir(), 'cli-fleet-ansible-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const inv = join(dir, 'lab.ini');
  await writeFile(inv, '[lab]\nhere ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n');

  for (const [args, re] of [
    [['fleet', 'rollout', '--inventory', inv, '--waves', '0'], /--waves: "0" is neither/],
    [['fleet', 'rollout', '--inventory', inv, '--max-fail', '200'], /--max-fail "200"/],
    [['fleet', 'plan', '--inventory', inv, '--forks', '0'], /--forks "0"/],
    [['fleet', 'status', '--inventory', inv, '--limit', 'nowhere'], /no host or group named "nowhere"/],
  ] as const) {
    const r = await cli([...args]);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.err, re);
  }

  const plan = await cli(['fleet', 'plan', '--inventory', inv, '--waves', '1,100%', '--junit', join(dir, 'plan.xml')]);
  t.equal(plan.code, virt ? 0 : 1, plan.err);
  t.match(plan.out, /^host +wave +result +distribution +firmware +cpu +tsc +why$/m);
  t.match(plan.out, new RegExp(`^here +\\S+ +${virt ? 'fit' : 'refused'} `, 'm'));
  t.match(plan.out, /^plan: 1 (fit|refused) in \d+ s; Ansible's output: .*lab\.ini\.tsx-hv-ansible\.log$/m);
  t.match(await readFile(join(dir, 'plan.xml'), 'utf8'), /<testsuites name="tsx-hv fleet plan" tests="1"/);

  const status = await cli(['--json', 'fleet', 'status', '--inventory', inv]);
  t.equal(status.code, 0, status.err);
  const events = status.out.trim().split('\n').map((l) => JSON.parse(l) as { event: string; host?: string; step?: string; result?: string; hosts?: { result: string }[] });
  t.ok(events.some((e) => e.event === 'step' && e.host === 'here' && e.step === 'facts'), 'NDJSON: the facts step');
  const summary = events.pop()!;
  t.equal(summary.event, 'summary');
  t.equal(summary.hosts![0]!.result, 'untouched');

  const rollback = await cli(['fleet', 'rollback', '--inventory', inv]);
  t.equal(rollback.code, 0, rollback.err);
  t.match(rollback.out, /^ {2}here {2}facts {2}ok \(\d+\.\d s\)$/m, 'a progress line per step');
  t.match(rollback.out, /^here +- +untouched +- +- +provision had not changed it$/m);
  t.match(rollback.out, /rollback: 1 untouched in \d+ s; journal .*lab\.ini\.tsx-hv-journal\.ndjson/);
});
