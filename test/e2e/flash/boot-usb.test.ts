import t from 'tap';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildLayout } from '../../../src/builder/layout.js';
import { ROOT, loopDevice, readBytes, resultOf, runCli, scratchDir } from './fixtures.js';

// The whole path a lab operator takes: `tsx-hv build` makes the hybrid ISO, `tsx-hv flash`
// writes it to a "USB stick" (a loop device), and a machine boots from that stick as USB mass
// storage: GRUB from the stick, then the hypervisor announcing itself on COM2, then Linux and
// the guest agent under it on COM1; the same stick under UEFI firmware (OVMF). And the safety
// claim behind Ctrl-C: a stick whose write was interrupted does not boot at all, neither with
// SeaBIOS ("No bootable device." on its debug port) nor with OVMF (it fails to load the USB disk).
const MiB = 1024 * 1024;

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** The lock the e2e tests share while `tsx-hv build` rewrites build/ (see test/e2e/hv/fixtures.ts). */
const BUILD_LOCK = join(ROOT, 'build', '.hv-e2e-build.lock');
const STALE_LOCK_MS = 15 * 60_000;

async function underBuildLock<T>(work: () => Promise<T>): Promise<T> {
  mkdirSync(join(ROOT, 'build'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(BUILD_LOCK);
      break;
    } catch {
      try {
        if (Date.now() - statSync(BUILD_LOCK).mtimeMs > STALE_LOCK_MS) rmSync(BUILD_LOCK, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      await sleep(500);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(BUILD_LOCK, { recursive: true, force: true });
  }
}

/**
 * The standard media, made by the project's build library (incremental: a no-op when nothing
 * changed), copied into the test's directory under the build lock: other e2e tests rebuild
 * build/media/tsx-hv.iso with other arguments while they run.
 */
async function media(t: { comment(...m: unknown[]): void }, dir: string): Promise<string> {
  return underBuildLock(async () => {
    if (!existsSync(buildLayout().iso)) t.comment(`${buildLayout().iso} is missing: building it with the project's build library`);
    const { build } = await import('../../../src/builder/index.js');
    const result = await build({ log: (line) => t.comment(line) });
    const copy = join(dir, 'tsx-hv.iso');
    copyFileSync(result.outputs.iso, copy);
    return copy;
  });
}

function ovmfCode(): string | undefined {
  return ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_CODE.fd'].find(existsSync);
}

/** QEMU arguments for UEFI firmware with a private copy of its variable store. */
function ovmf(code: string, dir: string): string[] {
  const vars = join(dir, 'vars.fd');
  copyFileSync(code.replace('CODE', 'VARS'), vars);
  return ['-drive', `if=pflash,format=raw,readonly=on,file=${code}`, '-drive', `if=pflash,format=raw,file=${vars}`];
}

/** Boot QEMU from the device as a USB stick; the files are COM1, COM2 and SeaBIOS's debug port. */
function bootFromStick(t: Teardown, dir: string, dev: string, firmware: string[] = []) {
  const logs = { com1: join(dir, 'com1.log'), com2: join(dir, 'com2.log'), bios: join(dir, 'bios.log') };
  const qemu = spawn(
    'qemu-system-x86_64',
    [
      '-machine', 'pc', '-cpu', 'qemu64,+svm,+npt,+rdtscp', '-m', '512M', '-display', 'none', '-monitor', 'none',
      // a failed boot reboots at once, and a reboot ends QEMU: an unbootable stick ends the run
      '-no-reboot', '-boot', 'reboot-timeout=0',
      ...firmware,
      '-device', 'qemu-xhci',
      '-drive', `if=none,id=stick,format=raw,file=${dev}`,
      '-device', 'usb-storage,drive=stick,bootindex=0',
      '-serial', `file:${logs.com1}`,
      '-serial', `file:${logs.com2}`,
      '-chardev', `file,id=bios,path=${logs.bios}`, '-device', 'isa-debugcon,iobase=0x402,chardev=bios',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const state = { running: true, stderr: '' };
  qemu.stderr.on('data', (c: Buffer) => (state.stderr += c.toString()));
  const exited = new Promise<void>((resolve) => qemu.on('exit', () => resolve()));
  void exited.then(() => (state.running = false));
  t.teardown(() => {
    if (state.running) qemu.kill('SIGKILL');
  });
  const read = (file: string): string => (existsSync(file) ? readFileSync(file, 'latin1') : '');
  const waitFor = async (file: string, pattern: RegExp, timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && state.running) {
      if (pattern.test(read(file))) return true;
      await sleep(250);
    }
    return pattern.test(read(file));
  };
  return { logs, state, exited, read, waitFor, stop: () => qemu.kill('SIGTERM') };
}

t.test('a machine boots the hypervisor from the flashed stick over USB', async (t) => {
  const dir = scratchDir(t);
  const iso = await media(t, dir);
  const dev = await loopDevice(t, dir, Math.ceil((statSync(iso).size + 16 * MiB) / MiB) * MiB);
  const flash = await runCli(['--json', 'flash', dev, '--image', iso, '--yes', '--no-eject'], { env: { TSX_HV_FLASH_ALLOW_LOOP: dev } });
  t.equal(flash.code, 0, flash.stderr);
  t.equal(resultOf(flash).verified, true);

  const vm = bootFromStick(t, dir, dev);
  if (await vm.waitFor(vm.logs.com2, /# tsx-hv: guest starting/, 240_000)) t.pass('the hypervisor starts the guest');
  else t.fail(`no "# tsx-hv: guest starting" on COM2:\n${vm.read(vm.logs.com2).slice(-2000)}\nqemu: ${vm.state.stderr}`);
  t.match(vm.read(vm.logs.com2), /^# tsx-hv: .*starting/m, 'the hypervisor log comes from the stick');
  t.match(vm.read(vm.logs.com1), /Booting `tsx-hv/, 'GRUB on the stick booted the default entry');
  t.ok(await vm.waitFor(vm.logs.com1, /tsx-hv-agent: ready \{.*"hypervisor":"tsx-hv-vtime"/, 240_000), 'Linux and the guest agent come up under the hypervisor');
  vm.stop();
  await vm.exited;
});

t.test('the flashed stick also boots the hypervisor under UEFI (OVMF)', async (t) => {
  const code = ovmfCode();
  if (!code) {
    t.skip('no OVMF firmware installed (Debian package ovmf)');
    return;
  }
  const dir = scratchDir(t);
  const iso = await media(t, dir);
  const dev = await loopDevice(t, dir, Math.ceil((statSync(iso).size + 16 * MiB) / MiB) * MiB);
  t.equal((await runCli(['flash', dev, '--image', iso, '--yes', '--no-eject'], { env: { TSX_HV_FLASH_ALLOW_LOOP: dev } })).code, 0);
  // The xHCI controller has a 64-bit BAR, which OVMF places in its 64-bit PCI window above RAM
  // (0xE000000000 with QEMU's 40 address bits): Linux must reach it through nested paging.
  const started = Date.now();
  const vm = bootFromStick(t, dir, dev, ovmf(code, dir));
  if (await vm.waitFor(vm.logs.com2, /# tsx-hv: guest starting/, 240_000)) t.pass('UEFI GRUB from the stick started the hypervisor');
  else t.fail(`no "# tsx-hv: guest starting" on COM2:\n${vm.read(vm.logs.com2).slice(-2000)}\nCOM1: ${vm.read(vm.logs.com1).slice(-1000)}\nqemu: ${vm.state.stderr}`);
  t.match(vm.read(vm.logs.com2), /BdsDxe: starting .*USB/, 'the firmware booted the USB disk');
  const ready = await vm.waitFor(vm.logs.com1, /tsx-hv-agent: ready \{.*"hypervisor":"tsx-hv-vtime"/, 240_000);
  t.ok(ready, `Linux and the guest agent come up under the hypervisor under UEFI\n${ready ? '' : vm.read(vm.logs.com2).slice(-3000)}`);
  if (ready) t.comment(`UEFI boot from the stick to agent ready under tsx-hv: ${((Date.now() - started) / 1000).toFixed(1)} s (firmware included)`);
  t.notMatch(vm.read(vm.logs.com2), /# PANIC/, 'no hypervisor panic');
  vm.stop();
  await vm.exited;
});

t.test('a stick whose write was interrupted does not boot', async (t) => {
  const dir = scratchDir(t);
  const iso = await media(t, dir);
  const dev = await loopDevice(t, dir, Math.ceil((statSync(iso).size + 16 * MiB) / MiB) * MiB);
  // First a complete, bootable flash: the old image the interrupted write must neutralise.
  t.equal((await runCli(['flash', dev, '--image', iso, '--yes', '--no-eject'], { env: { TSX_HV_FLASH_ALLOW_LOOP: dev } })).code, 0);
  const flash = await runCli(['--json', 'flash', dev, '--image', iso, '--yes', '--no-eject'], {
    env: { TSX_HV_FLASH_ALLOW_LOOP: dev, TSX_HV_FLASH_TEST_THROTTLE_BPS: String(4 * MiB) },
    onEvent: (e) => (e.event === 'progress' && e.phase === 'write' && Number(e.bytes) > 0 ? 'SIGINT' : undefined),
  });
  t.equal(flash.code, 3, flash.stderr);
  t.same(readBytes(dev, 0, 65536), Buffer.alloc(65536), 'the boot head is zero');

  const vm = bootFromStick(t, dir, dev);
  await Promise.race([vm.exited, sleep(120_000)]);
  t.equal(vm.state.running, false, 'the firmware gave up and the machine reset (ending QEMU)');
  t.match(vm.read(vm.logs.bios), /No bootable device/, 'SeaBIOS found nothing to boot on the stick');
  t.equal(vm.read(vm.logs.com2), '', 'the hypervisor never ran');
  t.notMatch(vm.read(vm.logs.com1), /GRUB|Booting/, 'GRUB never ran');

  const code = ovmfCode();
  if (!code) return;
  const uefiDir = join(dir, 'uefi');
  mkdirSync(uefiDir);
  const uefi = bootFromStick(t, uefiDir, dev, ovmf(code, uefiDir));
  t.ok(await uefi.waitFor(uefi.logs.com2, /BdsDxe: failed to load Boot\d+ "UEFI QEMU QEMU USB HARDDRIVE/, 120_000), 'UEFI firmware finds nothing to boot on the stick either');
  t.notMatch(uefi.read(uefi.logs.com2), /# tsx-hv|GRUB/, 'neither GRUB nor the hypervisor ran');
  uefi.stop();
  await uefi.exited;
});
