/**
 * The fleet commands' own logic: the fold of Ansible's events into one outcome per host, and the
 * real playbooks run by the real ansible-playbook on this machine (connection local) for what
 * is safe to do to the machine running the tests: plan, status, a rollback of a host provision
 * never touched, and a rollout that the preflight must stop (an unreachable host) or that finds
 * nothing fit. The rollout that changes machines runs against QEMU machines in
 * test/e2e/fleet/rollout.test.ts.
 */
import t from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetPlan, fleetRollback, fleetRollout, fleetStatus, Outcomes } from '../../../src/fleet/fleet.js';
import type { AnsibleEvent } from '../../../src/fleet/ansible.js';
import { findTool } from '../../../src/doctor/locate.js';

const ev = (e: Partial<AnsibleEvent>, time = 1000): AnsibleEvent => ({ event: 'step', time, ...e }) as AnsibleEvent;

t.test('events fold into one outcome per host', async (t) => {
  const o = new Outcomes(['lab1', 'lab2', 'lab3', 'lab4']);
  o.add(ev({ event: 'play', name: 'tsx-hv rollout', wave: 1 }));
  o.add(ev({ host: 'lab1', step: 'facts', status: 'ok', data: { facts: { cpus: 2 } } }, 1000));
  o.add(ev({ host: 'lab1', step: 'wave', status: 'ok', wave: 1 }, 1001));
  o.add(ev({ host: 'lab2', step: 'wave', status: 'ok', wave: 1 }, 1001));
  o.add(ev({ host: 'lab2', step: 'health', status: 'failed', msg: 'health check at 10x failed', wave: 1 }, 1100));
  o.add(ev({ event: 'result', host: 'lab2', result: 'rolled-back', step: 'health', reason: 'health check at 10x failed', speed: '3.21', requested: 10, boot_s: 95.2, wave: 1 }, 1200));
  o.add(ev({ host: 'lab2', step: 'failed', status: 'failed', msg: 'lab2 failed at health and was rolled back', wave: 1 }, 1201));
  o.add(ev({ event: 'result', host: 'lab1', result: 'done', speed: 10.004, requested: '10', boot_s: '88', wave: 1 }, 1250.56));
  o.add(ev({ host: 'lab3', step: 'facts', status: 'unreachable', msg: 'ssh: connect to host 10.0.0.3 port 22: No route to host' }));
  o.add(ev({ event: 'result', host: 'lab4', result: 'refused', reason: 'no svm', notes: ['no constant_tsc'], speed: 'None', facts: { cpus: 1 } }));
  const [l1, l2, l3, l4] = o.list();
  t.same(l1, { host: 'lab1', result: 'done', wave: 1, durationS: 250.6, speed: 10.004, requested: 10, bootS: 88, facts: { cpus: 2 } });
  t.same(l2, { host: 'lab2', result: 'rolled-back', wave: 1, durationS: 200, step: 'health', reason: 'health check at 10x failed', speed: 3.21, requested: 10, bootS: 95.2 }, 'the rescue\'s own final failure does not overwrite the result');
  t.match(l3, { result: 'unreachable', step: 'facts', reason: /No route to host/ });
  t.match(l4, { result: 'refused', reason: 'no svm', notes: ['no constant_tsc'], facts: { cpus: 1 } });
  t.equal(l4!.speed, undefined, "Ansible's None is no speed");
  t.same(o.waves, [['lab1', 'lab2']]);
  const late = new Outcomes(['a', 'b', 'c']);
  late.add(ev({ host: 'c', step: 'wave', status: 'ok', wave: 1 }));
  late.add(ev({ host: 'a', step: 'wave', status: 'ok', wave: 1 }));
  t.same(late.orderedWaves(), [['a', 'c']], 'waves are listed in inventory order, whichever host reported first');
  t.same(o.unreachable.map((u) => u.host), ['lab3']);
  const fresh = new Outcomes(['a']);
  fresh.add(ev({ event: 'stats' }));
  t.same(fresh.list(), [{ host: 'a', result: 'pending' }], 'a host without events is pending');
  fresh.add(ev({ host: 'a', step: 'provision', status: 'failed', msg: 'provision failed' }));
  t.match(fresh.list()[0], { result: 'failed', step: 'provision' }, 'a failure without the rescue\'s result stays a failure');
});

/** Does this machine's CPU have hardware virtualisation? Then a local rollout would really provision it. */
const hasVirt = (): boolean => /^flags\s*:.*\b(svm|vmx)\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));

const noLocalRun = !(await findTool('ansible-playbook'))
  ? 'ansible-playbook is not installed (ansible-core)'
  : existsSync('/var/lib/tsx-hv/provision/manifest.json')
    ? 'this machine was provisioned by tsx-hv: a rollback here would revert it'
    : false;

t.test('the real playbooks on this machine (connection local): plan, status and rollback read or change nothing here', { skip: noLocalRun }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsx-hv-fleet-unit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const inventory = join(dir, 'lab.ini');
  await writeFile(inventory, `[lab]\nhere ansible_connection=local ansible_python_interpreter=${'/usr/bin/python3'}\n`);
  const events: AnsibleEvent[] = [];

  const plan = await fleetPlan({ inventory, onEvent: (e) => events.push(e) });
  const here = plan.hosts[0]!;
  t.equal(here.facts?.arch, 'x86_64');
  t.equal(here.facts?.cpus, Number((await readFile('/proc/cpuinfo', 'utf8')).match(/^processor/gm)!.length), 'the probe counted this machine\'s CPUs');
  t.equal(here.facts?.under_tsx_hv, false);
  if (hasVirt()) t.equal(here.result, 'fit');
  else {
    t.equal(here.result, 'refused', 'no svm or vmx here: refused');
    t.match(here.reason, /shows neither svm nor vmx/);
    t.equal(plan.exitCode, 1);
  }
  t.ok(events.some((e) => e.event === 'step' && e.step === 'facts' && e.status === 'ok'), 'the callback reported the facts step');
  t.match(await readFile(plan.log, 'utf8'), /PLAY \[tsx-hv preflight\]/, "Ansible's own output is in the log");

  const status = await fleetStatus({ inventory });
  t.match(status.hosts[0], { host: 'here', result: 'untouched' });
  t.equal(status.exitCode, 0);

  const rollback = await fleetRollback({ inventory });
  t.match(rollback.hosts[0], { host: 'here', result: 'untouched', reason: 'provision had not changed it' });
  t.equal(rollback.exitCode, 0);
  t.match(await readFile(rollback.journal!, 'utf8'), /"command":"rollback","event":"result","host":"here"/, 'the rollback is in the journal');

  if (!hasVirt()) {
    const rollout = await fleetRollout({ inventory });
    t.match(rollout.hosts[0], { host: 'here', result: 'refused' });
    t.same(rollout.waves, [], 'nothing was fit: no wave ran');
    t.equal(rollout.exitCode, 1);
  }

  // An unreachable host stops the preflight before any host is changed.
  await writeFile(inventory, `[lab]\nhere ansible_connection=local ansible_python_interpreter=/usr/bin/python3\ngone ansible_host=127.0.0.1 ansible_port=1\n`);
  await t.rejects(fleetRollout({ inventory, restart: true }), { code: 'UNREACHABLE', message: /unreachable: gone \(.*Connection refused\); no host was changed/ });
  const journal = await readFile(rollback.journal!, 'utf8');
  t.notMatch(journal.split('\n').filter((l) => l.includes('"command":"rollout"')).join('\n'), /"step":"provision"/, 'no rollout step ran');
});
