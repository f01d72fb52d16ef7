// Issue 15, "a boot entry on the disk": an installed Debian bookworm (its own MBR, GRUB, kernel,
// initramfs and systemd; test/e2e/disk/fixtures.ts) is provisioned offline with
// `tsx-hv provision image:DISK --agent --agent-console --hypervisor --trial`, then boots by itself
// in QEMU (no tsx-hv media: `--boot-disk`):
// 1. the trial boot: GRUB's next_entry picks the tsx-hv entry, the hypervisor starts the installed
//    kernel, the installed agent arms the clock; the first-boot unit regenerates grub.cfg with
//    the real grub-mkconfig, which runs /etc/grub.d/42_tsx-hv (prepare_grub_to_access_device);
//    GRUB has cleared next_entry, so the next boot would be the system's own default again;
// 2. `--hypervisor --default`, then the real CLI `tsx-hv --json test --speed 60 --disk DISK
//    --boot-disk` passes the built-in scenario against the installed system;
//    Then the test boots the disk itself in QEMU with a user-mode NIC (sshd forwarded to a
//    loopback port) and `tsx-hv --json test --speed 60 --target ssh://root@127.0.0.1:PORT`
//    measures the running machine through its installed agent over ssh (issue 16);
// 3. `provision --revert`: every file provision touched is byte-identical to before, and the boot
//    configuration (grub.cfg, grubenv, /etc/grub.d, /etc/default) is the pristine one.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram as run } from '../../../src/util/run.js';
import { packageRoot } from '../../../src/builder/layout.js';
import { boot } from '../../../src/scenario/boot.js';
import type { JsonDocument } from '../../../src/scenario/reporters/json.js';
import { treeHash } from '../provision/fixtures.js';
import { freshDisk, withDiskRoot } from './fixtures.js';

const CLI = join(packageRoot(), 'bin', 'tsx-hv.js');

async function cli(t: Test, args: string[], timeoutMs = 120_000): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await run(process.execPath, [CLI, ...args], { allowFailure: true, timeout: timeoutMs });
  t.comment(`tsx-hv ${args.join(' ')}: exit ${r.exitCode}`);
  return r;
}

/** What a boot reads and provision may change: the boot configuration, not the OS's own state. */
async function bootConfig(disk: string): Promise<Record<string, string>> {
  return withDiskRoot(disk, async (root) => ({
    boot: await treeHash(join(root, 'boot')),
    grubD: await treeHash(join(root, 'etc/grub.d')),
    defaults: await treeHash(join(root, 'etc/default')),
    units: await treeHash(join(root, 'etc/systemd/system')),
  }));
}

async function grubenv(disk: string): Promise<string> {
  return withDiskRoot(disk, async (root) => (await run('grub-editenv', [join(root, 'boot/grub/grubenv'), 'list'])).stdout);
}

/** Boots the disk in a plain QEMU (the test's own command line) and measures it over ssh. */
async function remoteTarget(t: Test, disk: string, dir: string): Promise<void> {
  const key = join(dir, 'key');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  await withDiskRoot(disk, async (root) => {
    await mkdir(join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
    await writeFile(join(root, 'root/.ssh/authorized_keys'), await readFile(`${key}.pub`), { mode: 0o600 });
  });
  const port = 22000 + Math.floor(Math.random() * 20000);
  const qemu = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'qemu-system-x86_64', '-machine', 'pc', '-cpu', 'qemu64,+svm,+npt,+rdtscp', '-m', '512M', '-display', 'none', '-monitor', 'none', '-no-reboot',
    '-drive', `file=${disk},format=raw,if=ide`, '-nic', `user,model=e1000,hostfwd=tcp:127.0.0.1:${port}-:22`, '-serial', `file:${join(dir, 'remote-console.log')}`, '-serial', `file:${join(dir, 'remote-hv.log')}`], { stdio: 'ignore' });
  const gone = new Promise<void>((res) => qemu.once('exit', () => res()));
  try {
    const target = `ssh://root@127.0.0.1:${port}`;
    const sshOpts = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];
    const t0 = Date.now();
    for (;;) {
      const probe = await run('ssh', ['-i', key, '-p', String(port), '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', ...sshOpts, 'root@127.0.0.1', 'systemctl is-system-running --wait || true'], { allowFailure: true, timeout: 120_000 });
      if (probe.exitCode === 0) break;
      if (Date.now() - t0 > 600_000 || qemu.exitCode !== null) throw new Error(`the machine did not answer over ssh within 10 min: ${probe.stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 3000));
    }
    t.comment(`remote machine: sshd answered and systemd was up ${((Date.now() - t0) / 1000).toFixed(0)} s after power-on`);
    const r = await cli(t, ['--json', 'test', '--speed', '60', '--target', target, '-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'], 10 * 60_000);
    const doc = JSON.parse(r.stdout) as JsonDocument;
    for (const s of doc.steps) t.comment(`target: ${s.index} ${s.status} ${s.name}${s.measured === undefined ? '' : ` measured ${s.measured.toFixed(5)}x error ${s.errorPct!.toFixed(3)}%`}${s.message ? ` — ${s.message}` : ''}`);
    t.equal(r.exitCode, 0, `tsx-hv test --target passed (${r.stderr.trim()})`);
    t.match(doc.steps[0]!.name, /^connect \(ssh:\/\/root@127\.0\.0\.1:/);
    t.same(doc.steps.filter((s) => s.kind === 'speed').map((s) => s.name), ['speed 60x (hypercall)', 'speed 1x (hypercall)'], 'no control port over ssh: the agent\'s hypercalls change the speed');
    t.equal(qemu.exitCode, null, 'the machine is still running: --target never powers it off');
    t.match(await readFile(join(dir, 'remote-hv.log'), 'utf8'), /speed 60\/1 \(hypercall/, 'the hypervisor logged the hypercall switch');
    await run('ssh', ['-i', key, '-p', String(port), '-o', 'BatchMode=yes', ...sshOpts, 'root@127.0.0.1', 'systemctl poweroff'], { allowFailure: true, timeout: 30_000 });
    await Promise.race([gone, new Promise((r) => setTimeout(r, 90_000))]);
  } finally {
    qemu.kill('SIGKILL');
    await gone;
  }
}

t.test('the installed system boots its own tsx-hv entry: trial once, default, the built-in scenario, revert', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsx-hv-disk-e2e-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const disk = await freshDisk(dir);
  const pristine = await bootConfig(disk);

  const dry = await cli(t, ['--json', 'provision', `image:${disk}`, '--agent', '--agent-console', '--hypervisor', '--trial', '--dry-run']);
  t.equal(dry.exitCode, 0, dry.stderr);
  t.match(dry.stdout, /42_tsx-hv/, 'the dry run shows the grub.d script');
  t.same(await bootConfig(disk), pristine, 'the dry run changed nothing');

  const p = await cli(t, ['--json', 'provision', `image:${disk}`, '--agent', '--agent-console', '--hypervisor', '--trial']);
  t.equal(p.exitCode, 0, p.stderr);
  t.match(await grubenv(disk), /^next_entry=tsx-hv$/m, 'grub-reboot set the trial boot');

  // 1. The trial boot.
  const m = await boot({ disks: [disk], boot: 'disk' });
  try {
    t.comment(`trial boot: agent ready and system up after ${((m.info.bootMs ?? 0) / 1000).toFixed(1)} s`);
    t.equal(m.info.hypervisor, 'tsx-hv-vtime', 'the agent sees the tsx-hv CPUID signature: GRUB booted the hypervisor entry');
    t.equal(m.info.clocksource, 'tsc');
    const status = await m.status();
    t.equal(status.armed, true, 'the installed agent armed the clock (grace=0: nothing else would)');
    const cmdline = (await m.exec('cat /proc/cmdline')).output.trim();
    t.match(cmdline, /root=UUID=\S+ ro console=ttyS0,115200 tsc=reliable/, 'the installed kernel got the system\'s own command line and tsc=reliable');
    const entries = (await m.exec("grep -c -- '--id tsx-hv ' /boot/grub/grub.cfg; grep -c 'BEGIN /etc/grub.d/42_tsx-hv' /boot/grub/grub.cfg; systemctl is-enabled tsx-hv-update-grub.service || true")).output;
    t.match(entries, /^1\n1\ndisabled/, 'the first-boot update-grub regenerated grub.cfg with the real grub-mkconfig, which ran 42_tsx-hv');
    await m.speed(60);
    const fast = await m.measure({ durationMs: 4000, expect: { p: 60, q: 1 } });
    t.comment(`trial boot at 60x: measured ${fast.speed.toFixed(4)}x`);
    t.ok(Math.abs(fast.speed / 60 - 1) < 0.02, `measured ${fast.speed}x within 2% of 60x`);
  } finally {
    await m.powerOff();
  }
  t.match(await grubenv(disk), /^next_entry=$/m, 'GRUB cleared next_entry: the trial was for one boot only');

  // 2. The default entry, and the built-in scenario through the real CLI.
  const d = await cli(t, ['--json', 'provision', `image:${disk}`, '--agent', '--agent-console', '--hypervisor', '--default']);
  t.equal(d.exitCode, 0, d.stderr);
  const r = await cli(t, ['--json', 'test', '--speed', '60', '--disk', disk, '--boot-disk'], 15 * 60_000);
  const doc = JSON.parse(r.stdout) as JsonDocument;
  for (const s of doc.steps) {
    const figures = s.measured === undefined ? '' : ` measured ${s.measured.toFixed(5)}x error ${s.errorPct!.toFixed(3)}% r2 ${s.r2!.toFixed(6)} samples ${s.samples}`;
    t.comment(`${s.index} ${s.status} ${s.name} (${(s.durationMs / 1000).toFixed(1)} s)${figures}${s.message ? ` — ${s.message}` : ''}`);
  }
  t.equal(r.exitCode, 0, `tsx-hv test passed against the installed system (${r.stderr.trim()})`);
  t.equal(doc.passed, true);

  // 2b. The same system booted by the test itself (not through tsx-hv's engines), with a NIC:
  // `tsx-hv test --target ssh://` reaches it over the network through its installed agent.
  await remoteTarget(t, disk, dir);

  // 3. Revert: the previous boot, byte for byte.
  const v = await cli(t, ['--json', 'provision', '--revert', `image:${disk}`]);
  t.equal(v.exitCode, 0, v.stderr);
  t.same(await bootConfig(disk), pristine, 'after --revert the boot configuration is the pristine one, byte for byte');
});
