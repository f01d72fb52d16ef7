import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLOUD_INIT_DROP_IN, CLOUD_INIT_NTP_OFF, planNtp } from '../../../src/provision/action-ntp.js';
import { DirTarget } from '../../../src/provision/target-dir.js';
import { SshTarget } from '../../../src/provision/target-ssh.js';
import { Transaction } from '../../../src/provision/transaction.js';
import { runProgram as run } from '../../../src/util/run.js';
import { startLocalSshd } from './local-sshd.js';

const unit = (alias?: string): string => `[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n${alias ? `Alias=${alias}\n` : ''}`;

async function root(t: Tap.Test): Promise<DirTarget> {
  const dir = await mkdtemp(join(tmpdir(), 'provision-ntp-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'usr/lib/systemd/system'), { recursive: true });
  await mkdir(join(dir, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  return DirTarget.open(dir);
}

const isEnabled = async (root: string, u: string): Promise<string> => (await run('systemctl', [`--root=${root}`, 'is-enabled', u], { allowFailure: true })).stdout.trim();

t.test('disables and masks every installed client, skipping aliases; idempotent', async (t) => {
  const target = await root(t);
  const sys = join(target.root, 'usr/lib/systemd/system');
  await writeFile(join(sys, 'chrony.service'), unit('chronyd.service'));
  await writeFile(join(sys, 'ntpsec.service'), unit());
  await symlink('ntpsec.service', join(sys, 'ntp.service'));
  await run('systemctl', [`--root=${target.root}`, 'enable', 'chrony.service']);
  t.equal(await isEnabled(target.root, 'chrony.service'), 'enabled');

  const plan = await planNtp(target);
  t.same(plan.operations.map((o) => (o.op === 'command' ? o.argv.join(' ') : o.path)), ['disable chrony.service', 'mask chrony.service', 'mask ntpsec.service'], 'an alias shipped as a symlink is not a separate client');
  const tx = await Transaction.begin(target);
  await tx.apply(plan.operations);
  t.equal(await isEnabled(target.root, 'chrony.service'), 'masked');
  t.equal(await isEnabled(target.root, 'ntpsec.service'), 'masked');

  const again = await planNtp(target);
  t.same(again.operations, []);
  t.same(again.notes.map((n) => n.subject), ['chrony.service', 'ntpsec.service']);
});

t.test('nothing installed: says so; cloud-init: writes the drop-in once', async (t) => {
  const target = await root(t);
  const empty = await planNtp(target);
  t.same(empty.operations, []);
  t.match(empty.notes[0]!.detail, /no network time client installed/);

  await mkdir(join(target.root, 'etc/cloud'), { recursive: true });
  await writeFile(join(target.root, 'etc/cloud/cloud.cfg'), '');
  const plan = await planNtp(target);
  t.match(plan.operations, [{ op: 'write', path: CLOUD_INIT_DROP_IN, content: Buffer.from(CLOUD_INIT_NTP_OFF) }]);
  await (await Transaction.begin(target)).apply(plan.operations);
  const again = await planNtp(target);
  t.same(again.operations, []);
  t.equal(again.notes.at(-1)!.subject, CLOUD_INIT_DROP_IN);
});

t.test('live host: timedatectl first, running clients stopped (planned against this host over ssh, read-only)', async (t) => {
  const clients = ['systemd-timesyncd.service', 'chrony.service', 'ntpsec.service', 'openntpd.service'].filter((u) => existsSync(`/usr/lib/systemd/system/${u}`) || existsSync(`/lib/systemd/system/${u}`));
  if (clients.length === 0) return t.skip('no network time client installed on this host');
  const sshd = await startLocalSshd();
  const port = Number(sshd.spec.split(':').at(-1));
  const target = await SshTarget.open(sshd.spec, { user: 'root', host: '127.0.0.1', port, ...sshd.ssh });
  t.teardown(async () => {
    await target.close();
    await sshd.stop();
  });
  const plan = await planNtp(target);
  const masked = async (u: string): Promise<boolean> => (await isEnabled('/', u)) === 'masked';
  const pending = [];
  for (const u of clients) if (!(await masked(u))) pending.push(u);
  if (pending.length === 0) return t.same(plan.operations, [], 'everything already masked');
  t.match(plan.operations[0], { op: 'command', argv: ['timedatectl', 'set-ntp', 'false'], bestEffort: /masked below/ });
  for (const u of pending) t.ok(plan.operations.some((o) => o.op === 'command' && o.argv.join(' ') === `mask ${u}`), `masks ${u}`);
  for (const o of plan.operations) if (o.op === 'command' && o.argv[0] === 'stop') t.equal(o.stopsUnit, o.argv[1], 'a stop is recorded for revert');
});
