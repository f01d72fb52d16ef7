import t from 'tap';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileAddon, compileAgent, compileHvCore } from '../../../src/builder/compile.js';
import { packageRoot } from '../../../src/builder/layout.js';
import { runProgram as run } from '../../../src/util/run.js';

t.test('a checkout without hv-core/CMakeLists.txt gets a clear error', async (t) => {
  const empty = await mkdtemp(join(tmpdir(), 'compile-test-'));
  t.teardown(() => rm(empty, { recursive: true, force: true }));
  await t.rejects(compileHvCore(empty, join(empty, 'b')), { code: 'NO_HV_CORE', message: /no hypervisor to build/ });
  t.equal(await compileAddon(empty), false, 'no addon script: nothing to build');
});

t.test('the agent builds as a static binary that answers without a hypervisor', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'compile-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const agent = join(dir, 'tsx-hv-agent');
  await compileAgent(packageRoot(), agent);
  t.ok((await stat(agent)).isFile());
  const headers = await run('readelf', ['--program-headers', agent]);
  t.notMatch(headers.stdout, /INTERP/, 'statically linked: no program interpreter');
  const status = await run(agent, ['status'], { allowFailure: true });
  t.equal(status.exitCode, 3, 'exit 3: no tsx-hv hypervisor on this host');
  t.match(status.stderr, /no-hypervisor/);
});

t.test('the hypervisor compiles to a multiboot2 ELF with cmake', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'compile-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await compileHvCore(packageRoot(), dir);
  const elf = join(dir, 'tsx-hv.elf');
  const header = await run('readelf', ['--file-header', elf]);
  t.match(header.stdout, /ELF64/);
  t.match(header.stdout, /Advanced Micro Devices X86-64/);
  // The multiboot2 header magic (0xE85250D6, little-endian) must be in the first 32 KiB.
  const { readFile } = await import('node:fs/promises');
  const image = await readFile(elf);
  const magic = Buffer.from([0xd6, 0x50, 0x52, 0xe8]);
  const at = image.indexOf(magic);
  t.ok(at >= 0 && at < 32768, `multiboot2 header at offset ${at}`);
});
