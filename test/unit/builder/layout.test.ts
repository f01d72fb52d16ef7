import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildLayout, packageRoot } from '../../../src/builder/layout.js';

t.test('the package root holds hv-core/ and images/', async (t) => {
  t.ok(existsSync(join(packageRoot(), 'images', 'agent', 'Makefile')));
  t.ok(existsSync(join(packageRoot(), 'package.json')));
});

t.test('outputs follow the contract paths', async (t) => {
  const l = buildLayout(undefined, '/pkg');
  t.equal(l.hvElf, '/pkg/build/hv-core/tsx-hv.elf');
  t.equal(l.hvEfiElf, '/pkg/build/hv-core/tsx-hv-efi.elf');
  t.equal(l.vmlinuz, '/pkg/build/guest/vmlinuz');
  t.equal(l.initrd, '/pkg/build/guest/initrd.img');
  t.equal(l.agent, '/pkg/build/guest/tsx-hv-agent');
  t.equal(l.iso, '/pkg/build/media/tsx-hv.iso');
  t.equal(l.state, '/pkg/build/state.json');
  t.equal(buildLayout('/elsewhere', '/pkg').iso, '/elsewhere/media/tsx-hv.iso');
  t.equal(buildLayout('out', '/pkg').cache, '/pkg/out/cache');
});
