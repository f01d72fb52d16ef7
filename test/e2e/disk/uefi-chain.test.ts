// Issue 15, "UEFI chain boot": the stick boots the machine's own OS underneath the hypervisor,
// under UEFI firmware (OVMF). The same installed Debian bookworm as chain-boot.test.ts
// (test/e2e/disk/fixtures.ts: its ESP holds an x86_64-efi GRUB as \EFI\BOOT\BOOTX64.EFI that reads
// the system's own /boot/grub/grub.cfg), provisioned offline with `tsx-hv provision image:DISK
// --agent --agent-console` only (no tsx-hv entry of its own), is the machine's second disk; the
// first is the tsx-hv stick (the media's bytes, as `tsx-hv flash` writes them). QEMU gives the
// stick bootindex 0 and the disk 1, so OVMF's BootOrder is the stick, then the disk. The stick's
// EFI GRUB boots its chain entry (chosen by SMBIOS SKU): `multiboot2 /boot/tsx-hv-efi.elf ...
// boot=chain`. The hypervisor keeps the boot services, makes its memory EfiReservedMemoryType,
// virtualises the CPU and returns; the firmware, now the guest, boots its next boot option, the
// disk's own GRUB, which boots its own kernel. Then:
// - the agent sees the tsx-hv CPUID signature, and the installed agent armed the clock (chain
//   mode never arms on a timer);
// - Linux booted under UEFI (/sys/firmware/efi) and its memory map, which it got from the
//   firmware's, has the hypervisor's range reserved;
// - the kernel runs with the disk's own command line;
// - the clock measures 60x, and the real CLI's built-in `--speed 60` scenario passes against the
//   same machine (`--media STICK --disk DISK --boot-chain --uefi`).
// One CPU.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram as run } from '../../../src/util/run.js';
import { buildLayout, packageRoot } from '../../../src/builder/layout.js';
import { OVMF_CODE } from '../../../src/engines/qemu-args.js';
import { boot } from '../../../src/scenario/boot.js';
import type { JsonDocument } from '../../../src/scenario/reporters/json.js';
import { freshDisk } from './fixtures.js';

const CLI = join(packageRoot(), 'bin', 'tsx-hv.js');
/** The UEFI hypervisor's own range, EfiReservedMemoryType in the firmware's map (docs/installed-os.md). */
const HV_BASE = 0x200000;
const HV_END = 0x800000; // tsx-hv-efi.elf: [2 MiB, 8 MiB) (hv-core/linker.ld)

async function cli(t: Test, args: string[], timeoutMs = 120_000): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await run(process.execPath, [CLI, ...args], { allowFailure: true, timeout: timeoutMs });
  t.comment(`tsx-hv ${args.join(' ')}: exit ${r.exitCode}`);
  return r;
}

/** True when the ranges (end exclusive) together cover [start, end). */
function covers(ranges: readonly { start: number; end: number }[], start: number, end: number): boolean {
  let at = start;
  for (const r of [...ranges].sort((a, b) => a.start - b.start)) {
    if (r.start > at) break;
    at = Math.max(at, r.end);
    if (at >= end) return true;
  }
  return at >= end;
}

t.test('the stick chain-boots the installed OS under the hypervisor (UEFI)', { skip: existsSync(OVMF_CODE) ? false : `no UEFI firmware at ${OVMF_CODE} (Debian package ovmf)` }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsx-hv-uefi-chain-e2e-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const disk = await freshDisk(dir);
  const p = await cli(t, ['--json', 'provision', `image:${disk}`, '--agent', '--agent-console']);
  t.equal(p.exitCode, 0, p.stderr);
  const built = await cli(t, ['build'], 600_000);
  t.equal(built.exitCode, 0, built.stderr);
  // The stick: the media's bytes (a hybrid ISO is what `tsx-hv flash` writes) as a disk image.
  const stick = join(dir, 'stick.img');
  await copyFile(buildLayout().iso, stick);

  const m = await boot({ media: stick, disks: [disk], boot: 'chain', firmware: 'uefi', cpus: 1 });
  try {
    t.comment(`UEFI chain boot: agent ready and system up after ${((m.info.bootMs ?? 0) / 1000).toFixed(1)} s`);
    const hvLog = m.engine.hvLog.join('\n');
    // COM2 also carries what the firmware printed there before the hypervisor took the port
    // (OVMF writes its console to every serial port, escape sequences included): only the
    // hypervisor's own lines go into the TAP stream.
    t.comment(`hypervisor log:\n${m.engine.hvLog.filter((l) => /^[\x20-\x7e]*tsx-hv: [\x20-\x7e]*$/.test(l)).join('\n')}`);
    t.match(hvLog, /EfiReservedMemoryType/, 'the hypervisor took its range out of the firmware\'s map');
    // OVMF's boot manager on the console: the stick's option first (QM00001, IDE primary master),
    // then, once the chain entry returned, the installed disk's (QM00002).
    const console = await readFile(m.engine.paths.consoleLog, 'utf8');
    const stickAt = console.search(/BdsDxe: starting Boot\d+ "UEFI QEMU HARDDISK QM00001/);
    const diskAt = console.search(/BdsDxe: (loading|starting) Boot\d+ "UEFI QEMU HARDDISK QM00002/);
    t.ok(stickAt >= 0, 'OVMF started the stick\'s EFI loader');
    t.ok(diskAt > stickAt, 'then the next boot option: the installed disk\'s EFI loader');
    t.equal(m.info.hypervisor, 'tsx-hv-vtime', 'the agent sees the tsx-hv CPUID signature');
    const cpus = (await m.exec('/usr/local/sbin/tsx-hv-agent cpus')).output.trim();
    t.match(cpus, /^cpu0 tsx-hv-vtime\ncpus=1 under=1 outside=0 offline=0 errors=0$/, `the chain-booted OS runs under the hypervisor: ${cpus}`);
    const efi = (await m.exec('test -d /sys/firmware/efi && echo efi || echo none')).output.trim();
    t.equal(efi, 'efi', 'Linux booted under UEFI (/sys/firmware/efi)');
    const cmdline = (await m.exec('cat /proc/cmdline')).output.trim();
    t.match(cmdline, /root=UUID=\S+ ro console=ttyS0,115200/, `the disk's own GRUB booted its own kernel: ${cmdline}`);
    t.notMatch(cmdline, /tsx-hv/, 'nothing of the stick on the installed kernel\'s command line');
    const status = await m.status();
    t.equal(status.armed, true, 'the installed agent armed the clock (chain mode never arms on a timer)');
    t.notMatch(hvLog, /armed .*grace/, 'no grace-period arming');

    // Linux keeps the firmware's map in /sys/firmware/memmap (under UEFI: GRUB's E820 table made
    // from the EFI memory map, EfiReservedMemoryType as "Reserved").
    const memmap = (await m.exec('for d in /sys/firmware/memmap/*; do echo "$(cat $d/start) $(cat $d/end) $(cat $d/type)"; done')).output.trim().split('\n');
    t.comment(`guest firmware map:\n${memmap.join('\n')}`);
    const ranges = memmap.map((l) => l.split(' ')).map(([s, e, ...type]) => ({ start: Number(s), end: Number(e) + 1, type: type.join(' ') }));
    t.ok(covers(ranges.filter((r) => r.type === 'Reserved'), HV_BASE, HV_END), 'the hypervisor\'s range is reserved in the map Linux got from the firmware');
    t.notOk(ranges.some((r) => r.type === 'System RAM' && r.start < HV_END && r.end > HV_BASE), 'no RAM entry overlaps the hypervisor');
    t.ok(ranges.some((r) => r.type === 'System RAM' && r.start >= HV_END), 'RAM above the hypervisor is still RAM');

    await m.speed(60);
    const fast = await m.measure({ durationMs: 4000, expect: { p: 60, q: 1 } });
    t.comment(`UEFI chain-booted OS at 60x: measured ${fast.speed.toFixed(4)}x`);
    t.ok(Math.abs(fast.speed / 60 - 1) < 0.02, `measured ${fast.speed}x within 2% of 60x`);
  } finally {
    await m.powerOff();
  }

  const r = await cli(t, ['--json', 'test', '--speed', '60', '--media', stick, '--disk', disk, '--boot-chain', '--uefi'], 20 * 60_000);
  const doc = JSON.parse(r.stdout) as JsonDocument;
  for (const s of doc.steps) t.comment(`${s.index} ${s.status} ${s.name}${s.measured === undefined ? '' : ` measured ${s.measured.toFixed(5)}x error ${s.errorPct!.toFixed(3)}%`}${s.message ? ` — ${s.message}` : ''}`);
  t.equal(r.exitCode, 0, `tsx-hv test --speed 60 --boot-chain --uefi passed (${r.stderr.trim()})`);
});
