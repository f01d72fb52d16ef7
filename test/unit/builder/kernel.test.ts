import t from 'tap';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchDebianKernel, kernelCacheDir, parseKernelPackage, resolveKernelPackage } from '../../../src/builder/kernel.js';
import { TsxHvError } from '../../../src/errors.js';

t.test('parses the concrete package and version from the meta-package', async (t) => {
  const show = 'Package: linux-image-amd64\nVersion: 6.1.192-2\nDepends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)\nDescription: x\n';
  t.same(parseKernelPackage(show), { name: 'linux-image-6.1.0-56-amd64', version: '6.1.192-2' });
  t.same(parseKernelPackage('Depends: foo, linux-image-6.1.0-9-amd64 (= 1:6.1.27-1)\n'), { name: 'linux-image-6.1.0-9-amd64', version: '1:6.1.27-1' });
  t.throws(() => parseKernelPackage('Package: linux-image-amd64\n'), TsxHvError);
  t.throws(() => parseKernelPackage('Depends: linux-image-6.1.0-9-amd64\n'), /cannot find the kernel package/);
});

t.test('cache directories are keyed by name and version, without path-hostile characters', async (t) => {
  t.equal(kernelCacheDir('/c', { name: 'linux-image-6.1.0-9-amd64', version: '1:6.1.27-1' }), '/c/kernel/linux-image-6.1.0-9-amd64_1_6.1.27-1');
});

t.test('resolves, downloads and caches the Debian kernel; the second fetch is free', async (t) => {
  const pkg = await resolveKernelPackage();
  t.match(pkg.name, /^linux-image-6\.1\.0-\d+-amd64$/);
  const cache = await mkdtemp(join(tmpdir(), 'kernel-test-'));
  t.teardown(() => rm(cache, { recursive: true, force: true }));
  const t0 = Date.now();
  const vmlinuz = await fetchDebianKernel(cache, pkg);
  const first = Date.now() - t0;
  const head = await readFile(vmlinuz);
  t.equal(head.subarray(0x202, 0x206).toString('latin1'), 'HdrS', 'a bzImage (Linux boot protocol header)');
  const t1 = Date.now();
  t.equal(await fetchDebianKernel(cache, pkg), vmlinuz);
  t.ok(Date.now() - t1 < first, 'cached');
  t.ok((await stat(vmlinuz)).size > 1_000_000);
});

t.test('a package that does not exist fails with the apt-get error', async (t) => {
  const cache = await mkdtemp(join(tmpdir(), 'kernel-test-'));
  t.teardown(() => rm(cache, { recursive: true, force: true }));
  await t.rejects(fetchDebianKernel(cache, { name: 'linux-image-0.0.0-0-amd64', version: '0' }), /apt-get failed/);
});
