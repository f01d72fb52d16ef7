import t from 'tap';
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI, loopDevice, partitionWithExt4, randomImage, readBytes, resultOf, runCli, scratchDir } from './fixtures.js';

// Loop devices stand in for USB sticks. The only thing faked is eligibility of the named loop
// device (TSX_HV_FLASH_ALLOW_LOOP); every other rule, the writes and the read-back are real.
const MiB = 1024 * 1024;
const allow = (dev: string): Record<string, string> => ({ TSX_HV_FLASH_ALLOW_LOOP: dev });

t.test('flashes an image that is verified byte for byte', async (t) => {
  const dir = scratchDir(t);
  const size = 9 * MiB + 1234; // not a multiple of the block size: the tail is padded
  const image = randomImage(dir, size);
  const dev = await loopDevice(t, dir, 16 * MiB);
  const run = await runCli(['--json', 'flash', dev, '--image', image, '--yes', '--no-eject'], { env: allow(dev) });
  t.equal(run.code, 0, run.stderr);
  const result = resultOf(run);
  t.equal(result.ok, true);
  t.equal(result.verified, true);
  t.equal(result.bytesWritten, Math.ceil(size / 512) * 512);
  t.ok(run.events.some((e) => e.event === 'progress' && e.phase === 'write'), 'progress events while writing');
  t.ok(run.events.some((e) => e.event === 'progress' && e.phase === 'verify'), 'progress events while verifying');
  const cmp = await execa('cmp', ['-n', String(size), image, dev], { reject: false });
  t.equal(cmp.exitCode, 0, `cmp: ${cmp.stdout}${cmp.stderr}`);
  t.same(readBytes(dev, size, 512 - (size % 512)), Buffer.alloc(512 - (size % 512)), 'the padding of the last block is zero');
  t.same(readBytes(dev, Math.ceil(size / 512) * 512, 4096), Buffer.alloc(4096, 0xa5), 'nothing past the image was touched');
});

t.test('refuses a device with a filesystem mounted outside /media', async (t) => {
  const dir = scratchDir(t);
  const image = randomImage(dir, 2 * MiB);
  const dev = await loopDevice(t, dir, 32 * MiB, { partitions: true });
  const part = await partitionWithExt4(dev);
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  await execa('mount', [part, mnt]);
  t.teardown(() => execa('umount', [mnt], { reject: false }));
  const before = readBytes(dev, 0, 1 * MiB);
  const run = await runCli(['--json', 'flash', dev, '--image', image, '--yes', '--no-eject'], { env: allow(dev) });
  t.equal(run.code, 1);
  const result = resultOf(run);
  t.equal(result.code, 'DEVICE_REFUSED');
  t.match(String(result.error), /mounted outside \/media.*in use by the system/);
  t.same(readBytes(dev, 0, 1 * MiB), before, 'the device is untouched');
});

t.test('unmounts an automounted filesystem under /media, then flashes', async (t) => {
  const dir = scratchDir(t);
  const image = randomImage(dir, 3 * MiB);
  const dev = await loopDevice(t, dir, 32 * MiB, { partitions: true });
  const part = await partitionWithExt4(dev);
  const mnt = `/media/tsx-hv-flash-test-${process.pid}`;
  mkdirSync(mnt, { recursive: true });
  t.teardown(async () => {
    await execa('umount', [mnt], { reject: false });
    rmdirSync(mnt);
  });
  await execa('mount', [part, mnt]);
  const run = await runCli(['--json', 'flash', dev, '--image', image, '--yes', '--no-eject'], { env: allow(dev) });
  t.equal(run.code, 0, run.stderr);
  const plan = run.events.find((e) => e.event === 'plan') as { card: { unmount: string[]; loss: string } };
  t.same(plan.card.unmount, [mnt]);
  t.match(plan.card.loss, /ext4 "OLDDATA"/, 'the card says which filesystem is lost');
  const findmnt = await execa('findmnt', [mnt], { reject: false });
  t.not(findmnt.exitCode, 0, 'no longer mounted');
  t.equal((await execa('cmp', ['-n', String(3 * MiB), image, dev], { reject: false })).exitCode, 0);
});

t.test('refuses the disk holding /', async (t) => {
  const source = (await execa('findmnt', ['-n', '-o', 'SOURCE', '/'])).stdout.trim();
  if (!source.startsWith('/dev/')) {
    t.skip(`/ is on ${source}, not a block device, on this machine`);
    return;
  }
  const parent = (await execa('lsblk', ['-n', '-s', '-o', 'PATH,TYPE', '-r', source])).stdout
    .split('\n')
    .map((l) => l.split(' '))
    .find(([, type]) => type === 'disk')?.[0];
  const disk = parent ?? source;
  const dir = scratchDir(t);
  const image = randomImage(dir, 1 * MiB);
  const run = await runCli(['--json', 'flash', disk, '--image', image, '--yes', '--allow-non-removable', '--no-eject']);
  t.equal(run.code, 1);
  const result = resultOf(run);
  t.equal(result.code, 'DEVICE_REFUSED');
  t.match(String(result.error), /system disk: .* is mounted at \/( |;|$)/);
});

t.test('refuses a partition node and names the whole disk', async (t) => {
  const dir = scratchDir(t);
  const image = randomImage(dir, 1 * MiB);
  const dev = await loopDevice(t, dir, 32 * MiB, { partitions: true });
  const part = await partitionWithExt4(dev);
  const run = await runCli(['flash', part, '--image', image, '--yes', '--no-eject'], { env: allow(dev) });
  t.equal(run.code, 1);
  t.match(run.stderr, new RegExp(`${part} is a partition, not a whole disk`));
  t.match(run.stderr, new RegExp(`hint: name the whole disk instead: ${dev}`));
});

t.test('refuses a device smaller than the image', async (t) => {
  const dir = scratchDir(t);
  const image = randomImage(dir, 8 * MiB);
  const dev = await loopDevice(t, dir, 4 * MiB);
  const run = await runCli(['--json', 'flash', dev, '--image', image, '--yes'], { env: allow(dev) });
  t.equal(run.code, 1);
  t.match(String(resultOf(run).error), /holds 4\.0 MiB, the image needs 8\.0 MiB/);
});

t.test('refuses to run without a terminal unless --yes is given', async (t) => {
  const dir = scratchDir(t);
  const image = randomImage(dir, 1 * MiB);
  const dev = await loopDevice(t, dir, 4 * MiB);
  const run = await runCli(['flash', dev, '--image', image], { env: allow(dev), input: dev + '\n' });
  t.equal(run.code, 1);
  t.match(run.stderr, /Will erase/, 'the card is shown');
  t.match(run.stderr, /refusing to erase .* without confirmation: stdin is not a terminal/);
  t.match(run.stderr, /hint: pass --yes/);
  t.same(readBytes(dev, 0, 4 * MiB), Buffer.alloc(4 * MiB, 0xa5), 'the device is untouched');
});

t.test('refuses read-only devices, loop devices not named by the test switch, and the image itself', async (t) => {
  const dir = scratchDir(t);
  const image = randomImage(dir, 1 * MiB);
  const ro = await loopDevice(t, dir, 4 * MiB, { readOnly: true });
  const other = await loopDevice(t, dir, 4 * MiB);
  const roRun = await runCli(['flash', ro, '--image', image, '--yes'], { env: allow(ro) });
  t.equal(roRun.code, 1);
  t.match(roRun.stderr, /is read-only/);
  const otherRun = await runCli(['flash', other, '--image', image, '--yes'], { env: allow(ro) });
  t.equal(otherRun.code, 1);
  t.match(otherRun.stderr, /is a loop device/);
  const self = (await execa('losetup', ['-f', '--show', image])).stdout.trim();
  t.teardown(() => execa('losetup', ['-d', self], { reject: false }));
  const selfRun = await runCli(['flash', self, '--image', image, '--yes'], { env: allow(self) });
  t.equal(selfRun.code, 1);
  t.match(selfRun.stderr, /backed by the image file itself/);
});

t.test('verification catches a corrupted read-back (exit 4)', async (t) => {
  const dir = scratchDir(t);
  const size = 6 * MiB;
  const image = randomImage(dir, size);
  const dev = await loopDevice(t, dir, 8 * MiB);
  const offset = 5 * MiB + 777;
  const run = await runCli(['--json', 'flash', dev, '--image', image, '--yes', '--no-eject'], {
    env: { ...allow(dev), TSX_HV_FLASH_TEST_CORRUPT_OFFSET: String(offset) },
  });
  t.equal(run.code, 4, run.stderr);
  const result = resultOf(run);
  t.equal(result.code, 'VERIFICATION_FAILED');
  t.equal(result.exitCode, 4);
  t.equal(result.phase, 'verify');
  t.match(String(result.error), new RegExp(`first difference at byte ${offset}`));
  const cmp = await execa('cmp', ['-n', String(size), image, dev], { reject: false });
  t.match(cmp.stdout, new RegExp(`differ: byte ${offset + 1},`), 'cmp finds the same single corrupted byte');
});

t.test('an interrupted write leaves the boot head zero and says so (exit 3)', async (t) => {
  const dir = scratchDir(t);
  const image = randomImage(dir, 48 * MiB);
  const dev = await loopDevice(t, dir, 64 * MiB);
  const run = await runCli(['--json', 'flash', dev, '--image', image, '--yes', '--no-eject'], {
    env: { ...allow(dev), TSX_HV_FLASH_TEST_THROTTLE_BPS: String(8 * MiB) },
    onEvent: (e) => (e.event === 'progress' && e.phase === 'write' && Number(e.bytes) > 0 ? 'SIGINT' : undefined),
  });
  t.equal(run.code, 3, run.stderr);
  const result = resultOf(run);
  t.equal(result.code, 'CANCELLED');
  t.match(String(result.error), /first 64\.0 KiB of .* are zero, so it will not boot a half-written image/);
  t.same(readBytes(dev, 0, 64 * 1024), Buffer.alloc(64 * 1024), 'the first 64 KiB (boot sector included) are zero');
  const imageBytes = readFileSync(image);
  t.same(readBytes(dev, 64 * 1024, 1 * MiB), imageBytes.subarray(64 * 1024, 64 * 1024 + MiB), 'the body was being written');
  t.same(readBytes(dev, 60 * MiB, 4096), Buffer.alloc(4096, 0xa5), 'the write stopped before the end');
});

t.test('on a terminal, typing the device name confirms and anything else cancels (exit 3)', async (t) => {
  // script(1) gives the CLI a real pseudo-terminal on stdin and stderr, as an operator has.
  const dir = scratchDir(t);
  const image = randomImage(dir, 2 * MiB);
  const dev = await loopDevice(t, dir, 4 * MiB);
  const onTerminal = (typed: string) =>
    execa('script', ['-q', '-e', '-c', `${process.execPath} ${CLI} flash ${dev} --image ${image} --no-eject`, '/dev/null'], {
      env: { ...process.env, ...allow(dev) },
      input: typed,
      reject: false,
    });
  const wrong = await onTerminal('sdz\n');
  t.equal(wrong.exitCode, 3, wrong.stdout);
  t.match(wrong.stdout, /Type the device name \(loop\d+\) to erase it/);
  t.match(wrong.stdout, /cancelled: the device name was not confirmed; nothing was written/);
  t.same(readBytes(dev, 0, 4 * MiB), Buffer.alloc(4 * MiB, 0xa5), 'the device is untouched');
  const right = await onTerminal(`${dev.replace('/dev/', '')}\n`);
  t.equal(right.exitCode, 0, right.stdout);
  t.match(right.stdout, /write {2}\[#+\] 100%/, 'a progress bar on the terminal');
  t.match(right.stdout, /verified: the device reads back SHA-256/);
  t.equal((await execa('cmp', ['-n', String(2 * MiB), image, dev], { reject: false })).exitCode, 0);
});

t.test('--list shows every disk with a verdict and a reason', async (t) => {
  const dir = scratchDir(t);
  const image = randomImage(dir, 1 * MiB);
  const dev = await loopDevice(t, dir, 4 * MiB);
  const other = await loopDevice(t, dir, 4 * MiB);
  const json = await runCli(['flash', '--list', '--json', '--image', image], { env: allow(dev) });
  t.equal(json.code, 0, json.stderr);
  const listing = JSON.parse(json.stdout) as { image: { size: number }; drives: Array<{ path: string; verdict: string; reason: string; refusals: Array<{ code: string }> }> };
  t.equal(listing.image.size, MiB);
  const byPath = new Map(listing.drives.map((d) => [d.path, d]));
  t.equal(byPath.get(dev)?.verdict, 'eligible');
  t.equal(byPath.get(other)?.verdict, 'refused');
  t.equal(byPath.get(other)?.refusals[0]?.code, 'virtual');
  t.ok(listing.drives.every((d) => d.reason.length > 0), 'every row has a reason');
  const human = await runCli(['flash', '--list', '--image', image], { env: allow(dev) });
  t.match(human.stdout, /^DEVICE +SIZE +TRAN +MODEL +VERDICT +REASON$/m);
  t.match(human.stdout, new RegExp(`^${dev} +4\\.0 MiB .* eligible +a loop device allowed by TSX_HV_FLASH_ALLOW_LOOP`, 'm'));
  t.match(human.stdout, new RegExp(`^${other} .* refused +${other} is a loop device`, 'm'));
});
