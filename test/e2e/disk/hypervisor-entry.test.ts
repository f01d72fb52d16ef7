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
// 3. `provision --revert`: every file provision touched is byte-identical to before, and the boot
//    configuration (grub.cfg, grubenv, /etc/grub.d, /etc/default) is the pristine one.
import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
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

  // (`tsx-hv test --target ssh://` against a machine tsx-hv did not start is proved by
  // test/e2e/fleet/rollout.test.ts, on a lab host booted from this same kind of disk.)

  // 3. Revert: the previous boot, byte for byte.
  const v = await cli(t, ['--json', 'provision', '--revert', `image:${disk}`]);
  t.equal(v.exitCode, 0, v.stderr);
  t.same(await bootConfig(disk), pristine, 'after --revert the boot configuration is the pristine one, byte for byte');
});
