/**
 * `npm run bench:flash`: write throughput of `tsx-hv flash` against
 * `dd bs=4M oflag=direct conv=fsync` writing the same image to the same loop device, in one run,
 * alternating the two so both see the same host conditions. Prints figures; asserts nothing.
 * Needs root (loop devices). Image size: BENCH_FLASH_MIB (default 512).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, closeSync, writeSync, statSync, ftruncateSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI, ROOT } from './fixtures.js';

const MiB = 1024 * 1024;
const sizeMiB = Number(process.env.BENCH_FLASH_MIB ?? 512);
const rounds = Number(process.env.BENCH_FLASH_ROUNDS ?? 3);
const dir = join(ROOT, 'build', 'cache', 'flash-bench');
mkdirSync(dir, { recursive: true });

function ensureFile(path: string, size: number, fill: (fd: number) => void): void {
  if (existsSync(path) && statSync(path).size === size) return;
  const fd = openSync(path, 'w');
  try {
    fill(fd);
  } finally {
    closeSync(fd);
  }
}

const image = join(dir, `image-${sizeMiB}M.bin`);
ensureFile(image, sizeMiB * MiB, (fd) => {
  for (let i = 0; i < sizeMiB; i += 16) writeSync(fd, randomBytes(16 * MiB));
  ftruncateSync(fd, sizeMiB * MiB);
});
const backing = join(dir, 'device.img');
ensureFile(backing, (sizeMiB + 64) * MiB, (fd) => ftruncateSync(fd, (sizeMiB + 64) * MiB));

const device = (await execa('losetup', ['-f', '--show', backing])).stdout.trim();
const mibps = (bytes: number, seconds: number): number => bytes / MiB / seconds;

async function ddOnce(): Promise<number> {
  const t0 = performance.now();
  await execa('dd', [`if=${image}`, `of=${device}`, 'bs=4M', 'oflag=direct', 'conv=fsync', 'status=none']);
  return (performance.now() - t0) / 1000;
}

async function tsxOnce(): Promise<{ write: number; wall: number }> {
  const t0 = performance.now();
  const r = await execa(process.execPath, [CLI, '--json', 'flash', device, '--image', image, '--yes', '--no-verify', '--no-eject'], {
    env: { TSX_HV_FLASH_ALLOW_LOOP: device },
  });
  const wall = (performance.now() - t0) / 1000;
  const result = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event: string; writeSeconds?: number })
    .find((e) => e.event === 'result');
  if (!result?.writeSeconds) throw new Error(`tsx-hv flash printed no result:\n${r.stdout}\n${r.stderr}`);
  return { write: result.writeSeconds, wall };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const bytes = sizeMiB * MiB;
  await ddOnce(); // allocate the backing file's blocks and warm the image into the page cache
  const dd: number[] = [];
  const tsxWrite: number[] = [];
  const tsxWall: number[] = [];
  console.log(`flash benchmark: ${sizeMiB} MiB random image -> ${device} (loop over ${backing}), ${rounds} alternating rounds`);
  console.log('round  dd bs=4M oflag=direct conv=fsync   tsx-hv flash (write phase)   tsx-hv flash (whole command)');
  for (let i = 1; i <= rounds; i++) {
    const d = await ddOnce();
    const x = await tsxOnce();
    dd.push(mibps(bytes, d));
    tsxWrite.push(mibps(bytes, x.write));
    tsxWall.push(mibps(bytes, x.wall));
    console.log(`${String(i).padStart(5)}  ${dd.at(-1)!.toFixed(1).padStart(14)} MiB/s ${tsxWrite.at(-1)!.toFixed(1).padStart(20)} MiB/s ${tsxWall.at(-1)!.toFixed(1).padStart(22)} MiB/s`);
  }
  const ratio = median(tsxWrite) / median(dd);
  console.log(
    `median: dd ${median(dd).toFixed(1)} MiB/s, tsx-hv flash ${median(tsxWrite).toFixed(1)} MiB/s write phase ` +
      `(${(ratio * 100).toFixed(1)}% of dd), ${median(tsxWall).toFixed(1)} MiB/s whole command including start-up and discovery`,
  );
} finally {
  await execa('losetup', ['-d', device], { reject: false });
  rmSync(backing, { force: true }); // the image stays cached; the device file is rewritten anyway
}
