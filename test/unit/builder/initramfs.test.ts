import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { initramfsEntries, initramfsImage, readBusybox } from '../../../src/builder/initramfs.js';
import { runProgram as run } from '../../../src/util/run.js';

t.test('a gzip newc archive with /init, busybox, the agent and /dev/console', async (t) => {
  const busybox = await readBusybox();
  const image = initramfsImage({ init: Buffer.from('#!/bin/busybox sh\n'), busybox, agent: Buffer.from('agent') });
  t.equal(image[0], 0x1f);
  t.equal(image[1], 0x8b);
  const dir = await mkdtemp(join(tmpdir(), 'initramfs-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'i.cpio'), gunzipSync(image));
  const list = (await run('cpio', ['-t', '-v', '-F', join(dir, 'i.cpio')])).stdout;
  t.match(list, /-rwxr-xr-x .* init\n/);
  t.match(list, /-rwxr-xr-x .* bin\/busybox\n/);
  t.match(list, /-rwxr-xr-x .* sbin\/tsx-hv-agent$/m);
  t.match(list, /crw------- .* 5,\s+1 .* dev\/console/);
  t.match(list, /bin\/sh -> busybox/);
});

t.test('directories come before their contents', async (t) => {
  const e = initramfsEntries({ init: new Uint8Array(), busybox: new Uint8Array(), agent: new Uint8Array() });
  const seen = new Set<string>();
  for (const entry of e) {
    const parent = entry.path.split('/').slice(0, -1).join('/');
    if (parent) t.ok(seen.has(parent), `${entry.path} after ${parent}`);
    seen.add(entry.path);
  }
});
