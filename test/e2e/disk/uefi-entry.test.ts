// Issue 15, "a boot entry on the disk", under UEFI: the same installed Debian bookworm
// (test/e2e/disk/fixtures.ts: its ESP holds an x86_64-efi GRUB as \EFI\BOOT\BOOTX64.EFI that
// reads the system's own /boot/grub/grub.cfg), provisioned offline with
// `tsx-hv provision image:DISK --agent --agent-console --hypervisor --default`, boots by itself
// under OVMF (no tsx-hv media): the firmware starts the disk's EFI GRUB, whose default entry
// (made by /etc/grub.d/42_tsx-hv through the image's update-grub) starts the hypervisor with the
// installed kernel; the installed agent arms; 60x measures; and the real CLI's built-in
// scenario passes with `--disk DISK --boot-disk --uefi`.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram as run } from '../../../src/util/run.js';
import { packageRoot } from '../../../src/builder/layout.js';
import { OVMF_CODE } from '../../../src/engines/qemu-args.js';
import { boot } from '../../../src/scenario/boot.js';
import type { JsonDocument } from '../../../src/scenario/reporters/json.js';
import { freshDisk } from './fixtures.js';

const CLI = join(packageRoot(), 'bin', 'tsx-hv.js');

async function cli(t: Test, args: string[], timeoutMs = 120_000): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await run(process.execPath, [CLI, ...args], { allowFailure: true, timeout: timeoutMs });
  t.comment(`tsx-hv ${args.join(' ')}: exit ${r.exitCode}`);
  return r;
}

t.test('under UEFI the installed system boots its own tsx-hv entry', { skip: existsSync(OVMF_CODE) ? false : `no UEFI firmware at ${OVMF_CODE} (Debian package ovmf)` }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsx-hv-uefi-disk-e2e-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const disk = await freshDisk(dir);
  const p = await cli(t, ['--json', 'provision', `image:${disk}`, '--agent', '--agent-console', '--hypervisor', '--default']);
  t.equal(p.exitCode, 0, p.stderr);

  const m = await boot({ disks: [disk], boot: 'disk', firmware: 'uefi' });
  try {
    t.comment(`UEFI boot of the installed system: agent ready and system up after ${((m.info.bootMs ?? 0) / 1000).toFixed(1)} s`);
    const console = await readFile(m.engine.paths.consoleLog, 'utf8');
    t.match(console, /BdsDxe: (loading|starting) Boot\d+ "UEFI QEMU HARDDISK/, 'OVMF started the disk\'s EFI loader');
    t.equal(m.info.hypervisor, 'tsx-hv-vtime', 'the agent sees the tsx-hv CPUID signature: EFI GRUB booted the tsx-hv entry');
    const cmdline = (await m.exec('cat /proc/cmdline')).output.trim();
    t.match(cmdline, /root=UUID=\S+ ro console=ttyS0,115200 tsc=reliable/, `the installed kernel with the system's own command line: ${cmdline}`);
    const status = await m.status();
    t.equal(status.armed, true, 'the installed agent armed the clock');
    await m.speed(60);
    const fast = await m.measure({ durationMs: 4000, expect: { p: 60, q: 1 } });
    t.comment(`UEFI-booted installed system at 60x: measured ${fast.speed.toFixed(4)}x`);
    t.ok(Math.abs(fast.speed / 60 - 1) < 0.02, `measured ${fast.speed}x within 2% of 60x`);
  } finally {
    await m.powerOff();
  }

  const r = await cli(t, ['--json', 'test', '--speed', '60', '--disk', disk, '--boot-disk', '--uefi'], 20 * 60_000);
  const doc = JSON.parse(r.stdout) as JsonDocument;
  for (const s of doc.steps) t.comment(`${s.index} ${s.status} ${s.name}${s.measured === undefined ? '' : ` measured ${s.measured.toFixed(5)}x error ${s.errorPct!.toFixed(3)}%`}${s.message ? ` — ${s.message}` : ''}`);
  t.equal(r.exitCode, 0, `tsx-hv test --speed 60 --boot-disk --uefi passed (${r.stderr.trim()})`);
});
