import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inventoryFromList, readInventory, selectHosts } from '../../../src/fleet/inventory.js';
import { findTool } from '../../../src/doctor/locate.js';
import { UsageError } from '../../../src/errors.js';

const INI = `# a lab as Ansible users write it
gateway ansible_host=10.0.0.1

[rack1]
lab1 ansible_host=10.0.1.1
lab2 ansible_host=10.0.1.2

[rack2]
lab3 ansible_host=10.0.2.1 tsx_hv_health_speed=60

[labs:children]
rack1
rack2

[labs:vars]
ansible_user=root
`;

const noAnsible = !(await findTool('ansible-inventory')) && 'ansible-inventory is not installed (ansible-core)';

t.test('ansible-inventory reads the lab: hosts in order, groups with their children, host vars', { skip: noAnsible }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsx-hv-inv-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'lab.ini');
  await writeFile(path, INI);
  const inv = await readInventory(path);
  t.same(inv.hosts.slice().sort(), ['gateway', 'lab1', 'lab2', 'lab3']);
  t.same(inv.groups.get('labs'), ['lab1', 'lab2', 'lab3']);
  t.same(inv.groups.get('rack2'), ['lab3']);
  t.equal(inv.hostVars.lab3!.tsx_hv_health_speed, 60, 'INI values are typed as Ansible types them');
  t.equal(inv.hostVars.lab1!.ansible_user, 'root', 'group vars reach the hosts');

  for (const [name, text, re] of [
    ['undefined-child.ini', '[lab]\nh1\n[rack:children]\nnosuch\n', /includes undefined group: nosuch/],
    ['bad-vars.ini', '[lab]\nh1\n[lab:vars]\nfoo\n', /Expected key=value, got: foo/],
    ['empty.ini', '# nothing\n', /has no hosts/],
  ] as const) {
    const p = join(dir, name);
    await writeFile(p, text);
    await t.rejects(readInventory(p), re, name);
    await t.rejects(readInventory(p), UsageError, `${name}: a usage error (exit 2)`);
  }
  await t.rejects(readInventory(join(dir, 'missing.ini')), /cannot be read by Ansible/);
});

t.test('host patterns resolve like Ansible, and every name must exist', async (t) => {
  const inv = inventoryFromList('/lab.ini', {
    _meta: { hostvars: {} },
    all: { children: ['ungrouped', 'labs'] },
    ungrouped: { hosts: ['gateway'] },
    labs: { children: ['rack1', 'rack2'] },
    rack1: { hosts: ['lab1', 'lab2'] },
    rack2: { hosts: ['lab3', 'lab1'] },
  });
  t.same(inv.hosts, ['gateway', 'lab1', 'lab2', 'lab3']);
  t.same(selectHosts(inv, undefined), inv.hosts);
  t.same(selectHosts(inv, 'all'), inv.hosts);
  t.same(selectHosts(inv, 'labs'), ['lab1', 'lab2', 'lab3']);
  t.same(selectHosts(inv, 'lab3,gateway'), ['gateway', 'lab3'], 'inventory order');
  t.same(selectHosts(inv, 'labs:!lab2'), ['lab1', 'lab3']);
  t.same(selectHosts(inv, 'labs:&rack2'), ['lab1', 'lab3']);
  t.same(selectHosts(inv, 'lab*'), ['lab1', 'lab2', 'lab3'], 'a glob over hosts and groups');
  t.same(selectHosts(inv, '~lab[23]'), ['lab2', 'lab3']);
  t.same(selectHosts(inv, 'rack?'), ['lab1', 'lab2', 'lab3']);
  t.throws(() => selectHosts(inv, 'lab1,lab9'), /no host or group named "lab9" in \/lab.ini/);
  t.throws(() => selectHosts(inv, 'rack7'), UsageError);
  t.throws(() => selectHosts(inv, 'x*'), /no host or group named "x\*"/);
  t.throws(() => inventoryFromList('/loop.ini', { all: { children: ['a'] }, a: { children: ['b'] }, b: { children: ['a'] } }), /its own child/);
});
