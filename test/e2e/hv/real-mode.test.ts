// Issue 15, "real-mode memory protection": a chain-booted boot sector that runs without paging
// (test/e2e/hv/real_mode_scribbler.S: real mode, then 32-bit protected mode with paging off)
// overwrites the whole of the hypervisor's range [2 MiB, 8 MiB) with 0xCC. Nested paging maps
// that range to a scratch page for the guest in every mode, so the hypervisor must not notice:
// it still answers the control port, logs no panic, and its state (speed, CPUs) is intact. The
// sector then halts with interrupts off: timer interrupts from the BIOS's PIC (vector 8) reach
// the hypervisor's idle halt and must be taken as interrupts, not as a double fault.
import t from 'tap';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLayout } from '../../../src/builder/layout.js';
import { startMachine } from '../../../src/engines/start.js';
import { runProgram as run } from '../../../src/util/run.js';
import { hvStatus, panics } from './fixtures.js';

const version = (await run('qemu-system-x86_64', ['--version'])).stdout.match(/version (\d+)\.(\d+)/);
const major = Number(version?.[1] ?? 0);
const minor = Number(version?.[2] ?? 0);
const nestedPagingInRealMode = major > 9 || (major === 9 && minor >= 2);

t.test('a boot sector without paging cannot touch the hypervisor', { skip: nestedPagingInRealMode ? false : `QEMU ${major}.${minor} does not apply nested paging to an unpaged guest (9.2+ does; scripts/setup installs 10.0 from bookworm-backports)` }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsx-hv-real-mode-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const source = join(import.meta.dirname, 'real_mode_scribbler.S');
  await run('as', ['--32', source, '-o', join(dir, 's.o')]);
  await run('ld', ['-m', 'elf_i386', '-Ttext=0x7c00', '--oformat', 'binary', '-o', join(dir, 's.bin'), join(dir, 's.o')]);
  const sector = await readFile(join(dir, 's.bin'));
  t.equal(sector.length, 512, 'the boot sector is one sector');
  const disk = join(dir, 'disk.raw');
  await writeFile(disk, Buffer.concat([sector, Buffer.alloc(1024 * 1024 - 512)]));
  const stick = join(dir, 'stick.img');
  await copyFile(buildLayout().iso, stick);

  const m = await startMachine({ media: stick, disks: [disk], boot: 'chain', cleanup: true });
  t.teardown(() => m.kill());
  const line = await m.waitFor(/tsx-hv-scribbler: wrote/, 180_000);
  t.comment(`guest: ${line.trim()}`);
  // The sector then halts with interrupts off while the BIOS's PIT keeps interrupting on the
  // BIOS's PIC vector 8 (IRQ0, 18.2 Hz): the hypervisor's idle halt takes those; before
  // 2026-12-02 it read vector 8 as a double fault and panicked (exceptions.S, WITH_ERROR).
  await new Promise((r) => setTimeout(r, 2000));
  t.ok(m.hvLog.some((l) => /chain boot: drive 81's boot sector at 0:7c00/.test(l)), 'the hypervisor chain-booted the sector');
  t.match(await m.control('speed 10', 10_000), /^ok speed 10\/1/, 'the control port still takes commands');
  const s = await hvStatus(m);
  t.equal(s.cpus?.[0]?.state, 'running', 'status answers: the boot CPU still runs the guest');
  t.same(panics(m), [], 'no hypervisor panic');
  t.ok(m.running, 'the machine is still running');
});
