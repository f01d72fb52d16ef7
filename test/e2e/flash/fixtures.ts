import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

/**
 * Fixtures for the flash e2e tests: real loop devices standing in for USB sticks (removed in
 * t.teardown whatever happens), random images, and the real CLI run as a child process.
 */
export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const CLI = join(ROOT, 'bin', 'tsx-hv.js');

interface Teardown {
  teardown(fn: () => unknown): void;
}

export function scratchDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'flash-e2e-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function randomImage(dir: string, size: number, name = 'image.bin'): string {
  const path = join(dir, name);
  writeFileSync(path, randomBytes(size));
  return path;
}

/** A loop device over a file filled with 0xA5 (so "zero" and "untouched" are distinguishable). */
export async function loopDevice(t: Teardown, dir: string, size: number, opts: { partitions?: boolean; readOnly?: boolean; name?: string } = {}): Promise<string> {
  const file = join(dir, opts.name ?? `stick-${Math.random().toString(36).slice(2)}.img`);
  writeFileSync(file, Buffer.alloc(size, 0xa5));
  const args = ['-f', '--show', ...(opts.partitions ? ['-P'] : []), ...(opts.readOnly ? ['-r'] : []), file];
  const dev = (await execa('losetup', args)).stdout.trim();
  t.teardown(async () => {
    await execa('umount', ['-l', ...(await mountsOf(dev))], { reject: false });
    await execa('losetup', ['-d', dev], { reject: false });
  });
  return dev;
}

async function mountsOf(dev: string): Promise<string[]> {
  const r = await execa('lsblk', ['-n', '-l', '-o', 'MOUNTPOINT', dev], { reject: false });
  return r.stdout.split('\n').map((s) => s.trim()).filter((s) => s !== '');
}

/** Give the loop device an MBR with one ext4 partition; returns the partition node. */
export async function partitionWithExt4(dev: string): Promise<string> {
  await execa('parted', ['-s', dev, 'mklabel', 'msdos', 'mkpart', 'primary', 'ext4', '1MiB', '100%']);
  await execa('partx', ['-u', dev], { reject: false });
  await execa('udevadm', ['settle'], { reject: false });
  const part = `${dev}p1`;
  await execa('mkfs.ext4', ['-q', '-F', '-L', 'OLDDATA', part]);
  return part;
}

export function readBytes(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, offset);
    return buf;
  } finally {
    closeSync(fd);
  }
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as NDJSON (with --json). */
  events: Array<Record<string, unknown>>;
}

/**
 * Run `tsx-hv ...` (the compiled CLI, as a user would). `onEvent` sees each NDJSON line as it
 * arrives and may return a signal to send to the child (for the interrupt test).
 */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string>; input?: string; onEvent?: (e: Record<string, unknown>) => NodeJS.Signals | undefined } = {},
): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let pending = '';
    const events: Array<Record<string, unknown>> = [];
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      pending += chunk.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const e = JSON.parse(line) as Record<string, unknown>;
          events.push(e);
          const signal = opts.onEvent?.(e);
          if (signal) child.kill(signal);
        } catch {
          // a pretty-printed document (--list --json) spans lines; parsed by the caller
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr, events }));
    child.stdin.end(opts.input ?? '');
  });
}

export function resultOf(run: CliRun): Record<string, unknown> {
  const r = run.events.find((e) => e.event === 'result');
  if (!r) throw new Error(`no result event; exit ${run.code}; stderr:\n${run.stderr}\nstdout:\n${run.stdout}`);
  return r;
}
