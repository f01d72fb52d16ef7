/**
 * `tsx-hv provision image:...` on real disk images: a partitioned raw image with an ext4 root
 * (loop-mounted), the same converted to qcow2 (exported by qemu-storage-daemon over FUSE), and
 * refusal of an image in use (attached to a loop device, or opened by a running QEMU).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provision, revertProvision } from '../../../src/provision/provision.js';
import { runProgram as run } from '../../../src/util/run.js';
import { ensureRoots, isEnabled, rawImageWithRoot, treeHash, withImageRoot } from './fixtures.js';

t.before(ensureRoots);

t.test('raw image: provision, idempotent rerun, refusal while in use, revert', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'provision-e2e-image-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const image = await rawImageWithRoot('timesyncd', dir);
  const pristine = await withImageRoot(image, (root) => treeHash(root));

  const dry = await provision({ target: `image:${image}`, dryRun: true });
  t.ok(dry.changed, 'dry-run finds work');
  t.equal(await withImageRoot(image, (root) => treeHash(root)), pristine, 'dry-run changed nothing');

  const r = await provision({ target: `image:${image}`, agent: true });
  t.ok(r.changed);
  t.equal(r.kind, 'image');
  await withImageRoot(image, async (root) => {
    t.equal(await isEnabled(root, 'tsx-hv-agent.service'), 'enabled');
    t.match(await readFile(join(root, 'etc/default/grub'), 'utf8'), /^GRUB_CMDLINE_LINUX="tsc=reliable"$/m);
    t.equal(await isEnabled(root, 'systemd-timesyncd.service'), 'masked');
    t.equal(await isEnabled(root, 'tsx-hv-update-grub.service'), 'enabled');
  });
  t.notOk((await provision({ target: `image:${image}`, agent: true })).changed, 'second run: nothing changed');

  const loop = (await run('losetup', ['--find', '--show', '--read-only', image])).stdout.trim();
  try {
    await t.rejects(provision({ target: `image:${image}` }), { code: 'IMAGE_IN_USE', message: new RegExp(`attached to ${loop}`) });
  } finally {
    await run('losetup', ['-d', loop]);
  }

  await revertProvision(`image:${image}`);
  t.equal(await withImageRoot(image, (root) => treeHash(root)), pristine, 'revert is byte-identical');
  t.equal((await run('losetup', ['-j', image])).stdout, '', 'no loop device left behind');
  t.notMatch(await readFile('/proc/mounts', 'utf8'), /tsx-hv-image-/, 'no mount left behind');
});

t.test('qcow2 image: provision through qemu-storage-daemon, refuse while QEMU runs it, revert', { skip: existsSync('/dev/fuse') ? false : 'no /dev/fuse here: qemu-storage-daemon cannot export a qcow2 over FUSE' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'provision-e2e-qcow2-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const raw = await rawImageWithRoot('chrony', dir);
  const pristine = await withImageRoot(raw, (root) => treeHash(root));
  const qcow2 = join(dir, 'chrony.qcow2');
  await run('qemu-img', ['convert', '-O', 'qcow2', raw, qcow2]);
  await rm(raw);

  const r = await provision({ target: `image:${qcow2}` });
  t.ok(r.changed);
  t.ok(r.changes.some((c) => c.subject.endsWith('mask chrony.service') && c.status === 'changed'));
  t.notOk((await provision({ target: `image:${qcow2}` })).changed, 'idempotent: the first run persisted in the qcow2');
  const back = join(dir, 'back.raw');
  await run('qemu-img', ['convert', '-O', 'raw', qcow2, back]);
  await withImageRoot(back, async (root) => t.equal(await isEnabled(root, 'chrony.service'), 'masked'));
  await rm(back);

  // A real QEMU (paused before the first instruction) with the image as its disk.
  const qemu = spawn('qemu-system-x86_64', ['-machine', 'pc', '-display', 'none', '-nodefaults', '-S', '-drive', `file=${qcow2},format=qcow2,if=virtio`], { stdio: 'ignore' });
  t.teardown(() => void qemu.kill('SIGKILL'));
  for (let i = 0; i < 100; i++) {
    if ((await run('fuser', [qcow2], { allowFailure: true })).stdout.trim()) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  await t.rejects(provision({ target: `image:${qcow2}` }), { code: 'IMAGE_IN_USE' });
  qemu.kill('SIGTERM');
  await new Promise((res) => qemu.once('exit', res));

  await revertProvision(`image:${qcow2}`);
  await run('qemu-img', ['convert', '-O', 'raw', qcow2, back]);
  t.equal(await withImageRoot(back, (root) => treeHash(root)), pristine, 'revert is byte-identical');
  t.notMatch(await readFile('/proc/mounts', 'utf8'), /tsx-hv-image-/, 'no FUSE export or mount left behind');
  t.equal((await run('losetup', ['-j', qcow2])).stdout, '');
});
