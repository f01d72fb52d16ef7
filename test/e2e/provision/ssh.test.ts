/**
 * `tsx-hv provision ssh://...` against a live sshd: the debootstrapped root runs sshd chrooted
 * inside a network namespace made by the test (veth pair, its own addresses), and provision
 * reaches it with the system ssh client and a test key. There is no systemd running in there, so
 * timedatectl fails and systemctl works offline; the report must say so.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provision, revertProvision } from '../../../src/provision/provision.js';
import { runProgram as run } from '../../../src/util/run.js';
import { REPO, freshRoot, isEnabled, treeHash } from './fixtures.js';

const NS = `tsxprov${process.pid}`;
const HOST_IF = `tph${process.pid % 100000}`;
const GUEST_IF = `tpg${process.pid % 100000}`;
const HOST_IP = '10.213.7.1';
const GUEST_IP = '10.213.7.2';
const PORT = 2222;
const EXCLUDE = ['/proc', '/dev', '/sys'];

t.test('live host over ssh: provision, verify, idempotent rerun, dry-run, revert', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'provision-e2e-ssh-'));
  const root = await freshRoot('timesyncd');
  let sshd: ChildProcess | undefined;
  t.teardown(async () => {
    await rm(work, { recursive: true, force: true });
    if (sshd?.pid) {
      try {
        process.kill(-sshd.pid, 'SIGKILL');
      } catch {
        // the sshd process group has already exited
      }
    }
    await run('umount', [join(root, 'proc')], { allowFailure: true });
    await run('umount', [join(root, 'sys')], { allowFailure: true });
    await run('umount', [join(root, 'dev')], { allowFailure: true });
    await run('ip', ['netns', 'del', NS], { allowFailure: true });
    await run('ip', ['link', 'del', HOST_IF], { allowFailure: true });
    await rm(root, { recursive: true, force: true });
  });

  const key = join(work, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  await mkdir(join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
  await writeFile(join(root, 'root/.ssh/authorized_keys'), await readFile(`${key}.pub`));
  await chmod(join(root, 'root/.ssh/authorized_keys'), 0o600);
  await mkdir(join(root, 'run/sshd'), { recursive: true, mode: 0o755 });
  await run('mount', ['--bind', '/dev', join(root, 'dev')]);
  await run('mount', ['-t', 'proc', 'proc', join(root, 'proc')]);
  await run('mount', ['-t', 'sysfs', 'sysfs', join(root, 'sys')]);

  await run('ip', ['netns', 'add', NS]);
  await run('ip', ['link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', GUEST_IF]);
  await run('ip', ['link', 'set', GUEST_IF, 'netns', NS]);
  await run('ip', ['addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF]);
  await run('ip', ['link', 'set', HOST_IF, 'up']);
  await run('ip', ['-n', NS, 'addr', 'add', `${GUEST_IP}/30`, 'dev', GUEST_IF]);
  await run('ip', ['-n', NS, 'link', 'set', GUEST_IF, 'up']);
  await run('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  sshd = spawn('ip', ['netns', 'exec', NS, 'chroot', root, '/usr/sbin/sshd', '-D', '-e', '-p', String(PORT)], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let sshdLog = '';
  sshd.stderr!.on('data', (d) => (sshdLog += String(d)));

  const sshOpts = { identity: key, options: ['StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null', 'LogLevel=ERROR'] };
  const target = `ssh://root@${GUEST_IP}:${PORT}`;
  let up = false;
  for (let i = 0; i < 100 && !up; i++) {
    const r = await run('ssh', ['-i', key, '-p', String(PORT), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `root@${GUEST_IP}`, 'true'], { allowFailure: true });
    up = r.exitCode === 0;
    if (!up) await new Promise((res) => setTimeout(res, 200));
  }
  t.ok(up, `sshd answers in the namespace ${sshdLog}`);
  const pristine = await treeHash(root, EXCLUDE);

  const dry = await provision({ target, ssh: sshOpts, dryRun: true });
  t.ok(dry.changed);
  t.ok(dry.changes.some((c) => c.kind === 'command' && /timedatectl set-ntp false/.test(c.subject)), 'live target asks timedatectl first');
  t.equal(await treeHash(root, EXCLUDE), pristine, 'dry-run changed nothing');

  const r = await provision({ target, ssh: sshOpts, verify: true, agent: true });
  t.ok(r.changed);
  t.equal(r.kind, 'ssh');
  t.same(await readFile(join(root, 'usr/local/sbin/tsx-hv-agent')), await readFile(join(REPO, 'build/guest/tsx-hv-agent')), 'agent binary copied over ssh intact');
  t.equal(await isEnabled(root, 'tsx-hv-agent.service'), 'enabled');
  t.match(await readFile(join(root, 'etc/default/grub'), 'utf8'), /^GRUB_CMDLINE_LINUX="tsc=reliable"$/m);
  t.equal(await isEnabled(root, 'systemd-timesyncd.service'), 'masked');
  const timedatectl = r.changes.find((c) => /timedatectl/.test(c.subject));
  t.equal(timedatectl?.status, 'failed', 'timedatectl cannot work without a running systemd');
  t.match(timedatectl?.detail, /disabled and masked below/);
  const hostCmdline = (await readFile('/proc/cmdline', 'utf8')).trim();
  t.equal(r.verification?.cmdline, hostCmdline, 'verification read the running kernel command line');
  t.equal(r.verification?.argsActive, hostCmdline.split(/\s+/).includes('tsc=reliable'));
  const hostClock = (await readFile('/sys/devices/system/clocksource/clocksource0/current_clocksource', 'utf8')).trim();
  t.equal(r.verification?.clocksource, hostClock);

  const second = await provision({ target, ssh: sshOpts, agent: true });
  t.notOk(second.changed, 'second run: nothing changed');

  const reverted = await revertProvision(target, sshOpts);
  t.ok(reverted.changed);
  t.equal(await treeHash(root, EXCLUDE), pristine, 'revert is byte-identical');
  t.equal(await isEnabled(root, 'systemd-timesyncd.service'), 'enabled');
});

t.test('an unreachable ssh target is a clear error', async (t) => {
  await t.rejects(provision({ target: 'ssh://root@127.0.0.1:1', ssh: { options: ['ConnectTimeout=5'] } }), { code: 'SSH_FAILED', message: /cannot run commands on ssh:\/\/root@127\.0\.0\.1:1/ });
});
