/**
 * Issue 16, "Rollouts on Ansible", the whole operator path against real machines: three QEMU
 * machines booted from the installed Debian disk (test/e2e/disk/fixtures.ts), each its own
 * copy, on a bridge in a network namespace with sshd (test/e2e/fleet/lab.ts); the controller
 * (the tsx-hv CLI, ansible-playbook, ssh) runs inside that namespace. Nothing of tsx-hv is on the
 * machines at the start.
 *
 * 1. Inventory errors: an unknown host in --limit, a group naming an undefined child group, an
 *    unreachable host: a clear message, and no machine changed (their boot configuration hashes).
 * 2. `fleet plan`: facts (SVM, CPUs, firmware) and the predicted waves; plain `ansible-playbook
 *    plan.yml` runs the same play without tsx-hv around it.
 * 3. `fleet rollout --waves 2,100% --max-fail 40`: wave 1 is lab1 and lab2. lab2 has a
 *    program of its own that keeps setting the speed back to 1x (as a leftover test harness
 *    would): its health check measures that and fails, lab2 is rolled back to its previous boot,
 *    50% of the wave failed, so wave 2 (lab3) never starts. lab1 keeps the hypervisor as its
 *    default and passes `tsx-hv test --target`.
 * 4. The program removed from lab2, the rollout runs again: the journal says lab1 finished, so
 *    only lab2 and lab3 take part; all three end under tsx-hv (`fleet status`).
 * 5. `fleet rollback`: every machine boots its previous entry again, its boot configuration byte
 *    for byte what it was, and no CPU under tsx-hv.
 */
import t, { type Test } from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../flash/fixtures.js';
import { ANSIBLE_DIR } from '../../../src/fleet/ansible.js';
import { runProgram } from '../../../src/util/run.js';
import { inventoryIni, labSkipReason, startLab, type Lab, type LabHost } from './lab.js';

interface Summary {
  event: 'summary';
  command: string;
  hosts: { host: string; result: string; wave?: number; step?: string; reason?: string; speed?: number; bootS?: number; facts?: Record<string, unknown>; journal?: { result: string } }[];
  waves?: string[][];
  resumed?: string[];
  stopped?: boolean;
  exitCode: number;
  durationS: number;
}

/** The speed pin on lab2: what makes its health check fail, for real (the hypervisor obeys it). */
const SPEED_PIN_UNIT = `[Unit]
Description=a leftover test harness that keeps this machine's time at 1x
[Service]
ExecStart=/bin/sh -c 'while :; do [ -x /usr/local/sbin/tsx-hv-agent ] && /usr/local/sbin/tsx-hv-agent speed 1 >/dev/null 2>&1; sleep 0.2; done'
[Install]
WantedBy=multi-user.target
`;

/** What a boot reads: the boot directory, GRUB's scripts and defaults; plus the running kernel's command line. */
const BOOT_STATE = "find /boot /etc/grub.d /etc/default -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum; cat /proc/cmdline";

const skip = labSkipReason();
// 12 min alone here (docs/fleet.md); beside another booting test on a 2-core CI machine the
// reboots and measurements take longer than .taprc's 30 min allow for a file.
t.setTimeout(60 * 60_000);

t.test('fleet rollout in waves on three machines: a failed health check stops the rollout and is rolled back, a rerun resumes, rollback restores every machine', { skip: skip ?? false }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsx-hv-fleet-e2e-'));
  const lab = await startLab({
    dir,
    hosts: 3,
    // One CPU each. lab1 had two until a rehearsal on 2026-12-03: its second boot under the
    // hypervisor stopped dead after "guest starting" (QEMU at 100%, no kernel output, no agent)
    // while its first had passed: issue 13's open multi-core defect, not the fleet's. The
    // signature on every CPU is checked by the same agent command on two CPUs in
    // test/e2e/disk/chain-boot.test.ts.
    cpus: [1, 1, 1],
    beforeBoot: async (host, root) => {
      if (host.name !== 'lab2') return;
      await writeFile(join(root, 'etc/systemd/system/speed-pin.service'), SPEED_PIN_UNIT);
      await runProgram('ln', ['-sf', '/etc/systemd/system/speed-pin.service', join(root, 'etc/systemd/system/multi-user.target.wants/speed-pin.service')]);
    },
  });
  t.teardown(async () => {
    await lab.close();
    if (process.env.TSX_HV_KEEP_FLEET_E2E) t.comment(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  });
  t.comment(`lab up: ${Object.entries(lab.bootMs).map(([h, ms]) => `${h} ${(ms / 1000).toFixed(0)} s`).join(', ')}`);
  const inventory = join(dir, 'lab.ini');
  await writeFile(inventory, inventoryIni(lab, { groups: { rack1: ['lab1', 'lab2'], rack2: ['lab3'] } }));
  const pristine = await bootStates(lab);

  // 1. Inventory errors change nothing.
  const unknown = await fleet(t, lab, ['plan', '--inventory', inventory, '--limit', 'lab1,lab9']);
  t.equal(unknown.exitCode, 2, 'an unknown host is a usage error');
  t.match(unknown.stderr, /--limit: no host or group named "lab9" in .*lab\.ini\nhint: hosts: lab1, lab2, lab3; groups: rack1, rack2/);
  const badGroup = join(dir, 'bad-group.ini');
  await writeFile(badGroup, `${await readFile(inventory, 'utf8')}\n[labs:children]\nrack1\nrack3\n`);
  const bg = await fleet(t, lab, ['rollout', '--inventory', badGroup]);
  t.equal(bg.exitCode, 2);
  t.match(bg.stderr, /cannot be read by Ansible: .*Section \[labs:children\] includes undefined group: rack3/);
  const unreachableInv = join(dir, 'unreachable.ini');
  await writeFile(unreachableInv, (await readFile(inventory, 'utf8')).replace('[all:vars]', `lab9 ansible_host=${lab.subnet.replace(/\.0\/24$/, '.99')} ansible_ssh_common_args='-o ConnectTimeout=5 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'\n\n[all:vars]`));
  const unr = await fleet(t, lab, ['rollout', '--inventory', unreachableInv, '--waves', '2,100%']);
  t.equal(unr.exitCode, 1);
  t.match(unr.stderr, /unreachable: lab9 \(.*(timed out|No route to host|unreachable).*\); no host was changed/);
  t.same(await bootStates(lab), pristine, 'after the three errors every machine\'s boot configuration is as before');
  for (const h of lab.hosts) t.equal((await lab.ssh(h, 'test -e /var/lib/tsx-hv || echo clean')).stdout.trim(), 'clean', `${h.name}: provision never ran`);

  // 2. plan, and the same play through plain ansible-playbook.
  const plan = await fleet(t, lab, ['plan', '--inventory', inventory, '--waves', '2,100%']);
  t.equal(plan.exitCode, 0, plan.stderr);
  const p = plan.summary!;
  t.same(p.waves, [['lab1', 'lab2'], ['lab3']], 'the predicted waves');
  for (const h of p.hosts) t.match(h, { result: 'fit', facts: { svm: true, npt: true, tsc: true, firmware: 'bios', os_id: 'debian', under_tsx_hv: false } }, `${h.host} is fit`);
  t.equal(p.hosts[0]!.facts!.cpus, 1, 'lab1 has 1 CPU');
  const events = join(dir, 'plain-events.ndjson');
  const plain = await lab.exec(['ansible-playbook', '-i', inventory, join(ANSIBLE_DIR, 'plan.yml')], {
    allowFailure: true,
    timeout: 300_000,
    env: { ANSIBLE_CALLBACKS_ENABLED: 'tsx_hv_events', TSX_HV_FLEET_EVENTS: events, ANSIBLE_NOCOLOR: '1' },
  });
  t.equal(plain.exitCode, 0, `plain ansible-playbook plan.yml: ${plain.stdout.slice(-500)}`);
  t.match(plain.stdout, /lab3 +: ok=\d+ +changed=0 +unreachable=0 +failed=0/, "Ansible's own recap");
  const plainResults = (await readFile(events, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { event: string; host?: string; result?: string }).filter((e) => e.event === 'result');
  t.same(plainResults.map((e) => `${e.host}:${e.result}`).sort(), ['lab1:fit', 'lab2:fit', 'lab3:fit'], 'the callback works for labs that run Ansible themselves');

  // 3. The rollout: wave 1 has a failure above the threshold.
  const junit = join(dir, 'rollout.xml');
  const first = await fleet(t, lab, ['rollout', '--inventory', inventory, '--waves', '2,100%', '--max-fail', '40', '--junit', junit], 40 * 60_000);
  const r1 = first.summary!;
  t.equal(first.exitCode, 1, 'not every host finished');
  table(t, r1);
  const [l1, l2, l3] = r1.hosts;
  t.match(l1, { host: 'lab1', result: 'done', wave: 1 });
  t.ok(Math.abs(l1!.speed! / 10 - 1) <= 0.01, `lab1 measured ${l1!.speed}x at 10x, within 1%`);
  t.match(l2, { host: 'lab2', result: 'rolled-back', wave: 1, step: 'health' });
  t.match(l2!.reason, /health check at 10x failed/);
  t.match(l3, { host: 'lab3', result: 'pending', reason: /stopped before its wave/ });
  t.equal(r1.stopped, true);
  t.same(r1.waves, [['lab1', 'lab2']], 'only wave 1 ran');
  const xml = await readFile(junit, 'utf8');
  t.match(xml, /<testsuites name="tsx-hv fleet rollout" tests="3" failures="1" errors="0" skipped="1"/);
  t.match(xml, /<testcase classname="wave-1" name="lab2"[^]*?<failure message="at health: /);
  const ndjson = first.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; host?: string; step?: string; status?: string });
  for (const step of ['facts', 'provision', 'boot entry', 'reboot', 'every CPU', 'measure', 'make default']) t.ok(ndjson.some((e) => e.event === 'step' && e.host === 'lab1' && e.step === step && e.status !== 'failed'), `NDJSON: lab1 ${step}`);
  t.ok(ndjson.some((e) => e.event === 'step' && e.host === 'lab2' && e.step === 'roll back' && e.status === 'changed'), 'NDJSON: lab2 roll back');

  t.equal((await lab.ssh('lab1', '/usr/local/sbin/tsx-hv-agent cpus')).stdout.trim().split('\n').pop(), 'cpus=1 under=1 outside=0 offline=0 errors=0', 'lab1: its CPU is under tsx-hv');
  t.match((await lab.ssh('lab1', 'cat /etc/default/grub.d/tsx-hv.cfg')).stdout, /^GRUB_DEFAULT=tsx-hv$/m, 'lab1: the tsx-hv entry is the default');
  const lab2State = await bootStates(lab, ['lab2', 'lab3']);
  t.same(lab2State, { lab2: pristine.lab2, lab3: pristine.lab3 }, 'lab2 rolled back to its previous boot (running its own kernel command line); lab3 untouched');
  const target = await lab.exec([process.execPath, CLI, '--json', 'test', '--speed', '10', '--target', `ssh://root@${lab.hosts[0]!.address}`, '-i', lab.key, ...lab.sshOptions.flatMap((o) => ['-o', o])], { allowFailure: true, timeout: 15 * 60_000 });
  t.equal(target.exitCode, 0, `lab1 passes tsx-hv test --target: ${target.stderr.trim().slice(-400)}`);
  // Every step's outcome, figures included (the JSON document on stdout), so a failure says which.
  try {
    const doc = JSON.parse(target.stdout) as { steps?: { name: string; status: string; message?: string; measured?: number }[] };
    for (const s of doc.steps ?? []) t.comment(`test --target: ${s.status} ${s.name}${s.measured !== undefined ? ` ${s.measured}` : ''}${s.message ? `: ${s.message}` : ''}`);
  } catch {
    t.comment(`test --target stdout: ${target.stdout.slice(-2000)}`);
  }

  // 4. lab2 fixed; the rerun resumes.
  await lab.ssh('lab2', 'systemctl disable --now speed-pin.service && rm /etc/systemd/system/speed-pin.service');
  const second = await fleet(t, lab, ['rollout', '--inventory', inventory, '--waves', '2,100%', '--max-fail', '40'], 40 * 60_000);
  const r2 = second.summary!;
  table(t, r2);
  t.equal(second.exitCode, 0, second.stderr.slice(-400));
  t.same(r2.resumed, ['lab1'], 'the journal: lab1 finished in the first run');
  t.match(r2.hosts.find((h) => h.host === 'lab1'), { result: 'skipped' });
  for (const h of ['lab2', 'lab3']) t.match(r2.hosts.find((x) => x.host === h), { result: 'done', wave: 1 }, `${h} rolled out in the rerun`);
  const status = await fleet(t, lab, ['status', '--inventory', inventory]);
  t.equal(status.exitCode, 0);
  t.same(status.summary!.hosts.map((h) => `${h.host}:${h.result}:${h.journal?.result}`), ['lab1:done:done', 'lab2:done:done', 'lab3:done:done']);

  // 5. Rollback: every machine back to its previous boot.
  const back = await fleet(t, lab, ['rollback', '--inventory', inventory], 30 * 60_000);
  table(t, back.summary!);
  t.equal(back.exitCode, 0, back.stderr.slice(-400));
  t.same(back.summary!.hosts.map((h) => `${h.host}:${h.result}`), ['lab1:rolled-back', 'lab2:rolled-back', 'lab3:rolled-back']);
  t.same(await bootStates(lab), pristine, 'every machine runs its previous boot: the same boot files and kernel command line as before the rollout');
  const after = await fleet(t, lab, ['status', '--inventory', inventory]);
  t.same(after.summary!.hosts.map((h) => `${h.host}:${h.result}:${h.journal?.result}`), ['lab1:untouched:rolled-back', 'lab2:untouched:rolled-back', 'lab3:untouched:rolled-back']);
  for (const h of lab.hosts) t.notMatch(await readFile(h.hvLog, 'latin1'), /panic|PANIC/, `${h.name}: no hypervisor panic in its log`);
});

async function bootStates(lab: Lab, only?: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of lab.hosts.filter((x: LabHost) => !only || only.includes(x.name))) {
    const r = await lab.ssh(h, BOOT_STATE);
    if (r.exitCode !== 0) throw new Error(`${h.name}: ${r.stderr}`);
    out[h.name] = r.stdout;
  }
  return out;
}

async function fleet(t: Test, lab: Lab, args: string[], timeoutMs = 10 * 60_000): Promise<{ exitCode: number; stdout: string; stderr: string; summary?: Summary }> {
  const t0 = Date.now();
  const r = await lab.exec([process.execPath, CLI, '--json', 'fleet', ...args], { allowFailure: true, timeout: timeoutMs });
  t.comment(`tsx-hv fleet ${args.join(' ')}: exit ${r.exitCode} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let summary: Summary | undefined;
  try {
    const doc = JSON.parse(last) as Summary;
    if (doc.event === 'summary') summary = doc;
  } catch {
    // errors before any host: no summary
  }
  return { ...r, summary };
}

function table(t: Test, s: Summary): void {
  for (const h of s.hosts) t.comment(`${s.command}: ${h.host} wave ${h.wave ?? '-'} ${h.result}${h.speed === undefined ? '' : ` ${h.speed.toFixed(4)}x`}${h.bootS === undefined ? '' : ` boot ${h.bootS} s`}${h.reason ? ` — ${h.reason}` : ''}`);
  t.comment(`${s.command}: ${s.durationS.toFixed(0)} s`);
}
