// Issue 15, "BIOS chain boot": the stick boots the machine's own OS underneath the hypervisor.
// An installed Debian bookworm (its own MBR, GRUB, kernel, initramfs and systemd;
// test/e2e/disk/fixtures.ts), provisioned offline with `tsx-hv provision image:DISK --agent
// --agent-console` only (no tsx-hv entry of its own), is the machine's second disk; the first is
// the tsx-hv stick (the media's bytes, as `tsx-hv flash` writes them, attached as a disk, so
// BIOS drive 0x80 is the stick and 0x81 the installed disk, as on a PC booted from USB). The
// stick's chain entry (chosen by SMBIOS SKU) loads the disk's boot sector; the hypervisor starts
// it in real mode with the drives swapped, the disk's own GRUB boots its own kernel, and:
// - the agent sees the tsx-hv CPUID signature on every CPU (with TSX_HV_CHAIN_CPUS=2 the OS starts its second CPU itself)
//   and the installed agent armed the clock (chain mode never arms on a timer);
// - Linux's memory map, which it read through INT 15h E820 in real mode, has the hypervisor's
//   range reserved;
// - the kernel runs with the disk's own command line;
// - the clock measures 60x, and the real CLI's built-in `--speed 60` scenario passes against the
//   same machine (`--media STICK --disk DISK --boot-chain`).
import t, { type Test } from 'tap';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram as run } from '../../../src/util/run.js';
import { buildLayout, packageRoot } from '../../../src/builder/layout.js';
import { boot } from '../../../src/scenario/boot.js';
import type { JsonDocument } from '../../../src/scenario/reporters/json.js';
import { freshDisk } from './fixtures.js';

const CLI = join(packageRoot(), 'bin', 'tsx-hv.js');
/** The hypervisor's own range (docs/hypervisor.md, "Memory"). */
const HV_BASE = 0x200000;
const HV_END = 0x800000;

async function cli(t: Test, args: string[], timeoutMs = 120_000): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await run(process.execPath, [CLI, ...args], { allowFailure: true, timeout: timeoutMs });
  t.comment(`tsx-hv ${args.join(' ')}: exit ${r.exitCode}`);
  return r;
}

const CPUS = Number(process.env.TSX_HV_CHAIN_CPUS) >= 2 ? Number(process.env.TSX_HV_CHAIN_CPUS) : 1;

t.test('the stick chain-boots the installed OS under the hypervisor (BIOS)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsx-hv-chain-e2e-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const disk = await freshDisk(dir);
  const p = await cli(t, ['--json', 'provision', `image:${disk}`, '--agent', '--agent-console']);
  t.equal(p.exitCode, 0, p.stderr);
  const built = await cli(t, ['build'], 600_000);
  t.equal(built.exitCode, 0, built.stderr);
  // The stick: the media's bytes (a hybrid ISO is what `tsx-hv flash` writes) as a disk image.
  const stick = join(dir, 'stick.img');
  await copyFile(buildLayout().iso, stick);

  // CPUS (TSX_HV_CHAIN_CPUS, default 1 in CI): with 2 the installed kernel starts its second CPU
  // itself (INIT-SIPI), which the hypervisor must take over like any AP. The engine runs such a
  // machine on single-threaded TCG (SINGLE_THREADED_TCG in src/engines/qemu-args.ts: QEMU's
  // multi-threaded TCG race killed it in 3 of 4 runs). 2 CPUs passed 3 of 3 and in CI on
  // 2026-12-02/03, but a 2-CPU installed-OS boot under the hypervisor also stopped dead (QEMU at
  // 100%, nothing after "guest starting" on the hypervisor's port, no agent) once here in the
  // 2026-12-03 CI rehearsal and once in a fleet lab machine: an open multi-core defect
  // (docs/hypervisor.md, "Open: a 2-CPU installed-OS boot that stops"), so CI boots one CPU and
  // `TSX_HV_CHAIN_CPUS=2 npx tap test/e2e/disk/chain-boot.test.ts` checks two.
  const m = await boot({ media: stick, disks: [disk], boot: 'chain', cpus: CPUS });
  try {
    t.comment(`chain boot: agent ready and system up after ${((m.info.bootMs ?? 0) / 1000).toFixed(1)} s`);
    const hvLog = m.engine.hvLog.join('\n');
    t.match(hvLog, /chain boot: drive 81's boot sector at 0:7c00, DL=80 \(drives 0x80 and the disk swapped\)/, 'the hypervisor started the second disk\'s boot sector as drive 0x80');
    t.equal(m.info.hypervisor, 'tsx-hv-vtime', 'the agent sees the tsx-hv CPUID signature');
    const cpus = (await m.exec('/usr/local/sbin/tsx-hv-agent cpus')).output.trim();
    const lines = Array.from({ length: CPUS }, (_, i) => `cpu${i} tsx-hv-vtime\n`).join('');
    t.equal(cpus, `${lines}cpus=${CPUS} under=${CPUS} outside=0 offline=0 errors=0`, `every CPU of the chain-booted OS runs under the hypervisor: ${cpus}`);
    const cmdline = (await m.exec('cat /proc/cmdline')).output.trim();
    t.match(cmdline, /root=UUID=\S+ ro console=ttyS0,115200/, `the disk's own GRUB booted its own kernel: ${cmdline}`);
    t.notMatch(cmdline, /tsx-hv/, 'nothing of the stick on the installed kernel\'s command line');
    const status = await m.status();
    t.equal(status.armed, true, 'the installed agent armed the clock (chain mode never arms on a timer)');
    t.notMatch(hvLog, /armed .*grace/, 'no grace-period arming');

    // Linux keeps the firmware's E820 map in /sys/firmware/memmap (what it got through INT 15h).
    const memmap = (await m.exec('for d in /sys/firmware/memmap/*; do echo "$(cat $d/start) $(cat $d/end) $(cat $d/type)"; done')).output.trim().split('\n');
    t.comment(`guest E820 map:\n${memmap.join('\n')}`);
    const ranges = memmap.map((l) => l.split(' ')).map(([s, e, ...type]) => ({ start: Number(s), end: Number(e) + 1, type: type.join(' ') }));
    t.ok(ranges.some((r) => r.type === 'Reserved' && r.start <= HV_BASE && r.end >= HV_END), 'the hypervisor\'s range is reserved in the map Linux got through INT 15h E820');
    t.notOk(ranges.some((r) => r.type === 'System RAM' && r.start < HV_END && r.end > HV_BASE), 'no RAM entry overlaps the hypervisor');
    t.ok(ranges.some((r) => r.type === 'System RAM' && r.start >= HV_END), 'RAM above the hypervisor is still RAM');

    await m.speed(60);
    const fast = await m.measure({ durationMs: 4000, expect: { p: 60, q: 1 } });
    t.comment(`chain-booted OS at 60x: measured ${fast.speed.toFixed(4)}x`);
    t.ok(Math.abs(fast.speed / 60 - 1) < 0.02, `measured ${fast.speed}x within 2% of 60x`);
  } finally {
    await m.powerOff();
  }

  const r = await cli(t, ['--json', 'test', '--speed', '60', '--media', stick, '--disk', disk, '--boot-chain'], 20 * 60_000);
  const doc = JSON.parse(r.stdout) as JsonDocument;
  for (const s of doc.steps) t.comment(`${s.index} ${s.status} ${s.name}${s.measured === undefined ? '' : ` measured ${s.measured.toFixed(5)}x error ${s.errorPct!.toFixed(3)}%`}${s.message ? ` — ${s.message}` : ''}`);
  t.equal(r.exitCode, 0, `tsx-hv test --speed 60 --boot-chain passed (${r.stderr.trim()})`);
});
