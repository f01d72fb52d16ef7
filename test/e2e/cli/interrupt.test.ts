/**
 * Ctrl-C (SIGINT) and SIGTERM in the middle of `provision` and `build`, sent to the real binary:
 * the run rolls back like any other failure and exits 130.
 * - provision dir: on a root made here: the provision test switch
 *   TSX_HV_PROVISION_TEST_PAUSE_AFTER=3 stops the run after three operations are applied (the
 *   tree has provably changed), then the signal comes; the tree must be byte-identical to before.
 * - build: interrupted while the first step really compiles (make + gcc of the guest agent); the
 *   build lock must be released and no compiler left running.
 */
import t, { type Test } from 'tap';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../../../src/builder/layout.js';
import { treeHash } from '../provision/fixtures.js';

const BIN = join(packageRoot(), 'bin', 'tsx-hv.js');

interface Running {
  child: ChildProcessWithoutNullStreams;
  stderr: () => string;
  /** Resolves once stderr matches. */
  waitFor: (pattern: RegExp, timeoutMs: number) => Promise<void>;
  exited: Promise<number | null>;
}

function start(t: Test, args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
  // A failed assertion must not leave a paused provision or a build behind.
  t.teardown(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stderr.on('data', (d) => {
    stderr += String(d);
    for (const w of waiters.splice(0)) w();
  });
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const waitFor = async (pattern: RegExp, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(stderr)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${pattern} on stderr (exit ${child.exitCode}):\n${stderr}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  return { child, stderr: () => stderr, waitFor, exited };
}

/** A Debian-like root with GRUB's configuration: provision writes /etc/default/grub, grub.cfg and a unit, and runs commands. */
function fakeRoot(t: Test): string {
  const dir = t.testdir({
    root: {
      etc: {
        'os-release': 'ID=debian\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
        default: { grub: 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=""\n' },
      },
      boot: { grub: { 'grub.cfg': 'menuentry "Debian" {\n\tlinux /boot/vmlinuz-6.1 root=/dev/sda1 ro quiet\n}\n' } },
    },
  });
  return join(dir, 'root');
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  t.test(`${signal} half-way through provision rolls the target back byte for byte and exits 130`, async (t) => {
    const root = fakeRoot(t);
    const before = await treeHash(root);
    const run = start(t, ['provision', `dir:${root}`], { TSX_HV_PROVISION_TEST_PAUSE_AFTER: '3' });
    await run.waitFor(/test hook: paused after 3 operations/, 60_000);
    t.not(await treeHash(root), before, 'the run has changed the target when the signal comes');
    t.match(await readFile(join(root, 'etc/default/grub'), 'utf8'), /tsc=reliable/, 'half-applied: /etc/default/grub is already changed');
    t.ok(existsSync(join(root, 'var/lib/tsx-hv/provision/manifest.json')), 'half-applied: the backup record exists');
    run.child.kill(signal);
    t.equal(await run.exited, 130, run.stderr());
    t.match(run.stderr(), new RegExp(`error: interrupted by ${signal}; provisioning dir:${root} was rolled back: the target is as it was before this run`));
    t.equal(await treeHash(root), before, 'the tree is byte-identical to before the run (files, modes, owners, no leftover directories)');
  });
}

t.test('a second Ctrl-C during the rollback does not cut it short', async (t) => {
  const root = fakeRoot(t);
  const before = await treeHash(root);
  const run = start(t, ['provision', `dir:${root}`], { TSX_HV_PROVISION_TEST_PAUSE_AFTER: '3' });
  await run.waitFor(/test hook: paused/, 60_000);
  run.child.kill('SIGINT');
  run.child.kill('SIGINT');
  t.equal(await run.exited, 130, run.stderr());
  t.equal(await treeHash(root), before);
});

/** Processes whose command line mentions `text` (other than the test itself). */
async function processesMentioning(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) found.push(`${pid}: ${cmdline.replace(/\0/g, ' ')}`);
  }
  return found;
}

t.test('SIGINT during a real compile step stops the compiler, releases the build lock and exits 130', async (t) => {
  const dir = t.testdir({ kernel: 'not really a bzImage', 'initrd.img': 'not really an initramfs' });
  const out = join(dir, 'out');
  // --kernel and --initrd keep the build off the network; the first step, the agent, compiles for real.
  const run = start(t, ['build', '--verbose', '--out', out, '--kernel', join(dir, 'kernel'), '--initrd', join(dir, 'initrd.img')]);
  await run.waitFor(/building agent \.\.\./, 120_000);
  t.ok(existsSync(join(out, '.build.lock')), 'the build holds its lock while compiling');
  run.child.kill('SIGINT');
  t.equal(await run.exited, 130, run.stderr());
  t.match(run.stderr(), /error: interrupted by SIGINT; the build stopped at step agent \(finished: none\) and released its lock/);
  t.notOk(existsSync(join(out, '.build.lock')), 'the build lock is released');
  const deadline = Date.now() + 10_000;
  let left = await processesMentioning(out);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    left = await processesMentioning(out);
  }
  t.same(left, [], 'no make or compiler of this build is left running');
  t.notOk(existsSync(join(out, 'guest', 'tsx-hv-agent')), 'no half-built agent is left as if it were finished');
});
