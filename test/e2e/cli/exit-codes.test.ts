/**
 * Every command's failure reaches the exit status of the real binary (`node bin/tsx-hv.js`, the
 * compiled dist/ of `npm run build:ts`), with the codes of docs/cli.md: 1 error, 2 usage,
 * 77 missing tool, 124 timeout. Each failure path is a cheap one: bad arguments, missing files, a
 * device that does not exist, a malformed scenario, a socket that never answers, and one short
 * QEMU boot of media that cannot boot (`run --smoke` used to exit 0 after reporting FAIL).
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { packageRoot } from '../../../src/builder/layout.js';

const BIN = join(packageRoot(), 'bin', 'tsx-hv.js');

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function expectExit(t: Test, args: string[], code: number, stderr: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Exit> {
  const r = await cli(args, env);
  t.equal(r.code, code, `tsx-hv ${args.join(' ')} exits ${code}`);
  t.match(r.stderr, stderr, `tsx-hv ${args.join(' ')}: message`);
  return r;
}

t.test('global: unknown command and unknown option are usage errors (2); --version is 0', async (t) => {
  await expectExit(t, ['frobnicate'], 2, /^error: unknown command 'frobnicate'/);
  await expectExit(t, ['doctor', '--jsn'], 2, /^error: unknown option '--jsn'/);
  t.equal((await cli(['--version'])).code, 0);
});

t.test('doctor: a required tool missing is 77', async (t) => {
  // Only PATH changes: the sbin directories are still searched, qemu-system-x86_64 (/usr/bin) is not found.
  const r = await expectExit(t, ['doctor', '--json'], 77, /^$/, { PATH: '/nonexistent' });
  t.ok(JSON.parse(r.stdout).missing.includes('qemu-system-x86_64'));
});

t.test('flash: no device is 2, a device that does not exist is 1', async (t) => {
  const dir = t.testdir({ 'image.iso': 'x'.repeat(4096) });
  await expectExit(t, ['flash'], 2, /^error: name the device to write/);
  await expectExit(t, ['flash', '/dev/tsx-hv-no-such-device', '--yes', '--image', join(dir, 'image.iso')], 1, /^error: discover: \/dev\/tsx-hv-no-such-device: no such device/);
});

t.test('build: a missing --kernel file is 2, an output directory that is a file is 1', async (t) => {
  const dir = t.testdir({ 'a-file': 'not a directory' });
  await expectExit(t, ['build', '--out', join(dir, 'out'), '--kernel', join(dir, 'no-bzImage')], 2, /^error: --kernel .*no-bzImage: no such file/);
  await expectExit(t, ['build', '--out', join(dir, 'a-file')], 1, /^error: .*(EEXIST|ENOTDIR)/);
});

t.test('provision: an unknown target kind is 2, a missing root is 1, nothing to revert is 1', async (t) => {
  const dir = t.testdir({ root: {} });
  await expectExit(t, ['provision', 'bogus:x'], 2, /^error: unknown target "bogus:x"/);
  await expectExit(t, ['provision', `dir:${join(dir, 'nonexistent')}`], 1, /^error: .*nonexistent is not a directory/);
  await expectExit(t, ['provision', '--revert', `dir:${join(dir, 'root')}`], 1, /^error: dir:.*root has no \/var\/lib\/tsx-hv\/provision\/manifest.json/);
});

t.test('run: missing media and bad flags are 2', async (t) => {
  await expectExit(t, ['run', '--smoke', '--media', '/nonexistent/tsx-hv.iso'], 2, /^error: boot media \/nonexistent\/tsx-hv.iso does not exist/);
  await expectExit(t, ['run', '--smoke', '--cpus', '0'], 2, /^error: --cpus must be a positive whole number/);
});

t.test('run --smoke that boots but fails (media that cannot boot) is 1, not 0', async (t) => {
  const dir = t.testdir();
  const media = join(dir, 'zero.img');
  writeFileSync(media, Buffer.alloc(1024 * 1024));
  const r = await cli(['run', '--smoke', '--media', media, '--timeout', '1']);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stdout, /^FAIL {2}under the hypervisor\n/, 'the report says FAIL');
});

t.test('ctl: bad speeds and commands are 2, no machine is 1, a silent socket is 124', async (t) => {
  await expectExit(t, ['ctl', 'speed', '0'], 2, /^error: speed "0" is out of range: the hypervisor runs guests from 1\/1000 to 10000 times real time/);
  await expectExit(t, ['ctl', 'speed', '0.0000001'], 2, /^error: speed "0.0000001" is out of range/);
  await expectExit(t, ['ctl', 'bogus'], 2, /^error: unknown control command "bogus"/);
  // Unix socket paths must stay under 108 bytes: a short directory in /tmp, not tap's fixture path.
  const dir = await mkdtemp(join(tmpdir(), 'tsx-hv-ctl-'));
  t.teardown(async () => void (await rm(dir, { recursive: true, force: true })));
  await expectExit(t, ['ctl', 'status', '--socket', join(dir, 'none.sock')], 1, /^error: cannot talk to .*none.sock/);
  const silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(join(dir, 'silent.sock'), resolve));
  await expectExit(t, ['ctl', 'status', '--socket', join(dir, 'silent.sock'), '--timeout', '0.5'], 124, /^error: no reply on .*silent.sock within 500 ms/);
  silent.close();
});

t.test('test: an out-of-range speed, a malformed scenario and a missing file are 2', async (t) => {
  const dir = t.testdir({ 'broken.yaml': 'name: broken\nsteps:\n  - speed: 0.0000001\n' });
  await expectExit(t, ['test', '--speed', '0.0000001', '--media', 'x'], 2, /^error: speed "0.0000001" is out of range/);
  await expectExit(t, ['test', '--validate', '--scenario', join(dir, 'broken.yaml')], 2, /^error: .*broken.yaml:3:12: steps\[0\].speed: speed 1e-7 is out of range/);
  await expectExit(t, ['test', '--scenario', join(dir, 'missing.yaml')], 2, /^error: cannot read scenario .*missing.yaml: no such file/);
});
