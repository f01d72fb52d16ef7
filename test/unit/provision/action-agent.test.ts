import t from 'tap';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_UNIT, CONSOLE_UNIT_TEMPLATE, agentBinary, checkConsoleTty, execStartPath, planAgent } from '../../../src/provision/action-agent.js';
import { DirTarget } from '../../../src/provision/target-dir.js';
import { Transaction } from '../../../src/provision/transaction.js';

t.test('execStartPath takes the program of ExecStart, prefixes stripped', async (t) => {
  t.equal(execStartPath('[Service]\nExecStart=/usr/local/sbin/tsx-hv-agent autoarm\n'), '/usr/local/sbin/tsx-hv-agent');
  t.equal(execStartPath('ExecStart=-@/opt/a b'), '/opt/a');
  t.equal(execStartPath('ExecStart=agent'), null, 'relative paths are not accepted');
  t.equal(execStartPath('[Service]\n'), null);
});

t.test('installs the binary where the unit expects it and enables the unit', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'provision-agent-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const root = join(work, 'root');
  await mkdir(join(root, 'etc/systemd/system'), { recursive: true });
  const unitFile = join(work, AGENT_UNIT);
  await writeFile(unitFile, '[Service]\nExecStart=/opt/tsx/agent autoarm\n[Install]\nWantedBy=multi-user.target\n');
  const binary = join(work, 'agent');
  await writeFile(binary, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0]));
  const target = await DirTarget.open(root);

  const plan = await planAgent(target, { binary, unit: unitFile });
  t.same(plan.operations.map((o) => (o.op === 'write' ? o.path : o.argv.join(' '))), ['/opt/tsx/agent', `/etc/systemd/system/${AGENT_UNIT}`, `enable ${AGENT_UNIT}`]);
  const tx = await Transaction.begin(target);
  await tx.apply(plan.operations);
  t.same(await readFile(join(root, 'opt/tsx/agent')), await readFile(binary));
  t.match(tx.changes[0]!.diff, /^Binary file \/opt\/tsx\/agent: absent -> 5 bytes/);
  const again = await planAgent(target, { binary, unit: unitFile });
  t.same(again.notes.map((n) => n.detail), ['already enabled']);

  await t.rejects(planAgent(target, { binary, unit: join(work, 'missing.service') }), { code: 'AGENT_MISSING' });
  await writeFile(join(work, 'bad.service'), '[Service]\nExecStart=agent\n');
  await t.rejects(planAgent(target, { binary, unit: join(work, 'bad.service') }), { code: 'AGENT_MISSING', message: /no absolute ExecStart/ });
  await t.rejects(agentBinary(join(work, 'nope')), { code: 'AGENT_MISSING' });
});

t.test('--agent-console: the template unit, its instance enabled for the port; bad ports refused', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'provision-agent-console-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const root = join(work, 'root');
  await mkdir(join(root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  const binary = join(work, 'agent');
  await writeFile(binary, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0]));
  const target = await DirTarget.open(root);
  const plan = await planAgent(target, { binary, console: '/dev/ttyS1' });
  t.same(plan.operations.map((o) => (o.op === 'write' ? o.path : o.argv.join(' '))).slice(3), [`/etc/systemd/system/${CONSOLE_UNIT_TEMPLATE}`, 'enable tsx-hv-agent-console@ttyS1.service']);
  const unit = plan.operations[3]!;
  t.match(unit.op === 'write' && unit.content.toString('utf8'), /^ExecStart=\/usr\/local\/sbin\/tsx-hv-agent serve \/dev\/%I$/m);
  await symlink('/etc/systemd/system/tsx-hv-agent-console@.service', join(root, 'etc/systemd/system/multi-user.target.wants/tsx-hv-agent-console@ttyS1.service'));
  const again = await planAgent(target, { binary, console: 'ttyS1' });
  t.ok(again.notes.some((n) => n.subject === 'tsx-hv-agent-console@ttyS1.service' && n.detail === 'already enabled'));
  t.equal(checkConsoleTty('ttyUSB0'), 'ttyUSB0');
  for (const bad of ['sda', 'ttyS0; rm -rf /', '../ttyS0', '']) t.throws(() => checkConsoleTty(bad), { code: 'BAD_CONSOLE' }, bad);
});

t.test('without --agent-binary the agent is built from images/agent', async (t) => {
  const built = await agentBinary();
  t.match(built, /build\/guest\/tsx-hv-agent$/);
  t.equal((await readFile(built)).subarray(0, 4).toString('latin1'), '\x7fELF');
});
