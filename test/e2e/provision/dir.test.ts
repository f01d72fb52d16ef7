/**
 * `tsx-hv provision dir:ROOT` on real debootstrapped Debian bookworm roots: one with grub-pc and
 * systemd-timesyncd, one with chrony. Checks the files and unit states, idempotency, dry-run,
 * byte-identical revert, rollback of a run that fails halfway, and refusal of an unknown
 * distribution.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../../src/cli/main.js';
import { provision, revertProvision } from '../../../src/provision/provision.js';
import { runProgram as run } from '../../../src/util/run.js';
import { REPO, freshRoot, isEnabled, treeHash } from './fixtures.js';

function sink(): { stream: Writable; text: () => string } {
  let buf = '';
  const stream = new Writable({ write(chunk, _enc, cb) { buf += String(chunk); cb(); } });
  return { stream, text: () => buf };
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = sink();
  const err = sink();
  const code = await main(['node', 'tsx-hv', ...args], { stdout: out.stream, stderr: err.stream });
  return { code, stdout: out.text(), stderr: err.text() };
}

// One timesyncd root serves the tests below in turn: each one ends by proving the root is back
// to its pristine hash, so it is a valid starting point for the next (and extracting 300 MB once
// keeps the suite fast).
let root = '';
let pristine = '';
t.before(async () => {
  root = await freshRoot('timesyncd');
  pristine = await treeHash(root);
});
t.teardown(() => rm(root, { recursive: true, force: true }));

t.test('timesyncd root: dry-run, provision, idempotent rerun, revert', async (t) => {
  t.equal(await isEnabled(root, 'systemd-timesyncd.service'), 'enabled', 'fixture starts with timesyncd enabled');

  const dry = await cli('provision', `dir:${root}`, '--dry-run');
  t.equal(dry.code, 0, dry.stderr);
  t.match(dry.stdout, /^--- a\/etc\/default\/grub\n\+\+\+ b\/etc\/default\/grub$/m, 'unified diff of /etc/default/grub');
  t.match(dry.stdout, /^-GRUB_CMDLINE_LINUX=""$/m);
  t.match(dry.stdout, /^\+GRUB_CMDLINE_LINUX="tsc=reliable"$/m);
  t.match(dry.stdout, new RegExp(`systemctl --root=${root} mask systemd-timesyncd\\.service`), 'prints the commands');
  t.match(dry.stdout, /chroot .* update-grub/);
  t.equal(await treeHash(root), pristine, 'dry-run changed nothing');

  const first = await provision({ target: `dir:${root}` });
  t.ok(first.changed);
  t.equal(first.distribution.id, 'debian');
  t.equal(first.bootLoader, 'grub-debian');
  const grub = await readFile(join(root, 'etc/default/grub'), 'utf8');
  t.match(grub, /^GRUB_CMDLINE_LINUX="tsc=reliable"$/m);
  t.equal(await isEnabled(root, 'systemd-timesyncd.service'), 'masked');
  t.notOk(existsSync(join(root, 'etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service')), 'enablement link removed');
  const fallback = first.changes.find((c) => c.status === 'fallback');
  t.match(fallback?.detail, /grub-probe.*first boot/s, 'update-grub fails in the chroot and the report says the first-boot unit takes over');
  t.equal(await isEnabled(root, 'tsx-hv-update-grub.service'), 'enabled');
  t.ok(existsSync(join(root, 'var/lib/tsx-hv/provision/manifest.json')));

  const second = await provision({ target: `dir:${root}` });
  t.notOk(second.changed, 'second run changes nothing');
  t.same(second.changes.filter((c) => c.status !== 'unchanged'), [], 'every item reported unchanged');

  const json = await cli('--json', 'provision', `dir:${root}`, '--dry-run');
  t.equal(JSON.parse(json.stdout).changed, false, 'dry-run after provisioning has nothing to do');

  const reverted = await cli('provision', '--revert', `dir:${root}`);
  t.equal(reverted.code, 0, reverted.stderr);
  t.equal(await treeHash(root), pristine, 'revert restores the exact previous tree');
  t.equal(await isEnabled(root, 'systemd-timesyncd.service'), 'enabled');

  const again = await cli('provision', '--revert', `dir:${root}`);
  t.equal(again.code, 1);
  t.match(again.stderr, /no \/var\/lib\/tsx-hv\/provision\/manifest\.json/);
});

t.test('chrony root: chrony disabled and masked, revert restores it', async (t) => {
  const chrony = await freshRoot('chrony');
  t.teardown(() => rm(chrony, { recursive: true, force: true }));
  await provisionChrony(t, chrony);
});

async function provisionChrony(t: Tap.Test, root: string): Promise<void> {
  const pristine = await treeHash(root);
  t.equal(await isEnabled(root, 'chrony.service'), 'enabled');
  const r = await provision({ target: `dir:${root}`, append: ['clocksource=tsc'] });
  t.ok(r.changed);
  t.equal(await isEnabled(root, 'chrony.service'), 'masked');
  t.notOk(existsSync(join(root, 'etc/systemd/system/chronyd.service')), 'alias link removed');
  t.match(await readFile(join(root, 'etc/default/grub'), 'utf8'), /^GRUB_CMDLINE_LINUX="tsc=reliable clocksource=tsc"$/m);
  t.notOk((await provision({ target: `dir:${root}`, append: ['clocksource=tsc'] })).changed, 'idempotent');
  await revertProvision(`dir:${root}`);
  t.equal(await treeHash(root), pristine);
}

t.test('cloud-init root: drop-in keeps cc_ntp off, masking still applies, revert removes it', async (t) => {
  // The cloud-init package itself pulls in Python; its presence is detected by its main config.
  await mkdir(join(root, 'etc/cloud'), { recursive: true });
  await writeFile(join(root, 'etc/cloud/cloud.cfg'), 'cloud_config_modules:\n - ntp\n');
  t.teardown(() => rm(join(root, 'etc/cloud'), { recursive: true, force: true }));
  const withCloudInit = await treeHash(root);
  await provision({ target: `dir:${root}` });
  t.match(await readFile(join(root, 'etc/cloud/cloud.cfg.d/99-tsx-hv-ntp.cfg'), 'utf8'), /^ntp:\n {2}enabled: false$/m);
  t.equal(await isEnabled(root, 'systemd-timesyncd.service'), 'masked');
  await revertProvision(`dir:${root}`);
  t.notOk(existsSync(join(root, 'etc/cloud/cloud.cfg.d')), 'the directory provision created is gone too');
  t.equal(await treeHash(root), withCloudInit);
});

t.test('a run failing halfway rolls back what it did', async (t) => {
  const wants = join(root, 'etc/systemd/system/sysinit.target.wants');
  t.teardown(() => run('chattr', ['-i', wants], { allowFailure: true }));
  t.equal(await treeHash(root), pristine, 'starts pristine');
  // An immutable directory: `systemctl disable` cannot remove the timesyncd link in it, after
  // /etc/default/grub and the first-boot unit were already written.
  await run('chattr', ['+i', wants]);
  await t.rejects(provision({ target: `dir:${root}` }), { code: 'PROVISION_FAILED', message: /rolled back.*disable systemd-timesyncd/s });
  await run('chattr', ['-i', wants]);
  t.equal(await treeHash(root), pristine, 'the root is as before the failed run');
});

t.test('refuses an unknown distribution, a root without os-release and bad targets', async (t) => {
  const plan9 = await mkdtemp(join(tmpdir(), 'provision-e2e-plan9-'));
  t.teardown(() => rm(plan9, { recursive: true, force: true }));
  await mkdir(join(plan9, 'etc/default'), { recursive: true });
  await writeFile(join(plan9, 'etc/os-release'), 'ID=plan9\nNAME="Plan 9 from Bell Labs"\n');
  await writeFile(join(plan9, 'etc/default/grub'), 'GRUB_CMDLINE_LINUX=""\n');
  const before = await treeHash(plan9);
  const r = await cli('provision', `dir:${plan9}`);
  t.equal(r.code, 1);
  t.match(r.stderr, /unsupported distribution "plan9"/);
  t.match(r.stderr, /hint: supported: Debian\/Ubuntu/);
  t.equal(await treeHash(plan9), before, 'nothing touched');

  const empty = await mkdtemp(join(tmpdir(), 'provision-e2e-empty-'));
  t.teardown(() => rm(empty, { recursive: true, force: true }));
  t.match((await cli('provision', `dir:${empty}`)).stderr, /no \/etc\/os-release/);
  t.match((await cli('provision', 'dir:/nonexistent/provision')).stderr, /is not a directory/);
  t.equal((await cli('provision', 'floppy:/dev/fd0')).code, 2);
  const verify = await cli('provision', `dir:${empty}`, '--verify');
  t.equal(verify.code, 2);
  t.match(verify.stderr, /--reboot and --verify need a live target/);
  t.equal((await cli('provision', 'ssh://root@127.0.0.1:1', '--reboot', '--dry-run')).code, 2);
  t.match((await cli('provision', `dir:${empty}`, '--append', 'init=/bin/sh;x')).stderr, /will not write into boot configuration/);
});

t.test('--agent installs the guest agent and enables its unit', { skip: existsSync(join(REPO, 'images/agent/tsx-hv-agent.service')) ? false : 'images/agent/tsx-hv-agent.service is not in this checkout yet' }, async (t) => {
  t.equal(await treeHash(root), pristine, 'starts pristine');
  const r = await provision({ target: `dir:${root}`, agent: true });
  const unit = await readFile(join(REPO, 'images/agent/tsx-hv-agent.service'), 'utf8');
  const exec = /^ExecStart=[-@+!:]*(\S+)/m.exec(unit)![1]!;
  t.ok(r.changes.some((c) => c.action === 'agent' && c.subject === exec && c.status === 'changed'));
  t.same(await readFile(join(root, exec)), await readFile(join(REPO, 'build/guest/tsx-hv-agent')), 'binary installed where ExecStart expects it');
  t.equal(await isEnabled(root, 'tsx-hv-agent.service'), 'enabled');
  t.notOk((await provision({ target: `dir:${root}`, agent: true })).changed, 'idempotent');
  await revertProvision(`dir:${root}`);
  t.equal(await treeHash(root), pristine);
});
