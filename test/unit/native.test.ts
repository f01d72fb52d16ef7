import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  NativeAddonError,
  VirtualClock,
  VtimeError,
  buildNative,
  cpuProbe,
  loadNative,
  nativeAddonPath,
  nativeAvailable,
} from '../../src/native.js';
import { ToolFailedError } from '../../src/errors.js';

// The addon must have been built (npm ci runs scripts/build-addon.mjs); the tests below use it.
const built = nativeAddonPath();

t.test('loads the built addon once and reports it available', async (t) => {
  t.equal(nativeAvailable(), true);
  t.equal(loadNative(), loadNative());
  t.equal(loadNative().maxCpus, 64);
});

t.test('a missing addon is a NativeAddonError that says how to build it', async (t) => {
  t.teardown(() => { process.env.TSX_HV_NATIVE = built; });
  process.env.TSX_HV_NATIVE = '/nonexistent/tsx_hv_native.node';
  t.equal(nativeAvailable(), false);
  const err = t.throws(() => loadNative()) as NativeAddonError;
  t.type(err, NativeAddonError);
  t.match(err.message, /not been built/);
  t.match(err.hint, /tsx-hv build/);
  t.throws(() => new VirtualClock({ cpus: 1 }), NativeAddonError);
  t.throws(() => cpuProbe(), NativeAddonError);
});

t.test('a file that is not an addon is a NativeAddonError naming the load failure', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtime-native-'));
  const bogus = join(dir, 'bogus.node');
  writeFileSync(bogus, 'not an ELF object');
  t.teardown(() => { process.env.TSX_HV_NATIVE = built; });
  process.env.TSX_HV_NATIVE = bogus;
  t.throws(() => loadNative(), { name: 'NativeAddonError', message: /does not load/ });
});

t.test('cpuProbe reports the CPU vendor and the TSC features of this machine', async (t) => {
  const p = cpuProbe();
  t.match(p.vendor, /^(GenuineIntel|AuthenticAMD|HygonGenuine|\S+)$/);
  t.type(p.vmx, 'boolean');
  t.type(p.svm, 'boolean');
  t.type(p.invariantTsc, 'boolean');
  t.type(p.tscDeadline, 'boolean');
  t.type(p.rdtscp, 'boolean');
  t.equal(p.tsc, true, 'every x86-64 CPU has a TSC');
  t.equal(p.hypervisorSignature === null, !p.hypervisor);
  if (p.svm) t.not(p.svmFeatures, null);
  t.equal(p.tscLeaf15 === null, p.maxLeaf < 0x15);
});

t.test('a speed held before arming takes effect at arming, without a jump', async (t) => {
  const c = new VirtualClock({ cpus: 2, realTsc: 1000n });
  t.equal(c.armed(), false);
  c.setSpeed(1100n, 10);
  t.equal(c.read(0, 1200n), 1200n, 'still 1x before arming');
  t.same(c.state().pendingP, 10n);
  c.arm(1300n);
  t.equal(c.armed(), true);
  t.equal(c.read(1, 1300n), 1300n);
  t.equal(c.read(1, 1310n), 1400n);
  t.equal(c.toVirtual(1310n), 1400n);
  t.equal(c.toReal(1400n), 1310n);
  t.equal(c.toReal(1401n, 1), 1311n, 'rounded up: never early');
  const s = c.state();
  t.same({ p: s.p, q: s.q, armed: s.armed, epochU: s.epochU, epochCount: s.epochCount, cpus: s.cpus },
    { p: 10n, q: 1n, armed: true, epochU: 1300n, epochCount: 2n, cpus: 2 });
  c.setPublishLead(5n);
  c.setSpeed(1400n, 1n, 10n);
  t.equal(c.state().epochU, 1405n);
});

t.test('per-CPU offsets and guest TSC writes move one CPU only', async (t) => {
  const c = new VirtualClock({ cpus: 2 });
  c.setCpuOffset(1, -50n);
  t.equal(c.read(1, 150n), 100n);
  c.writeTsc(0, 100n, 5000n);
  t.equal(c.read(0, 100n), 5000n);
  t.equal(c.readTscAdjust(0), 4900n);
  c.writeTscAdjust(1, -10n);
  t.equal(c.read(1, 150n), 90n);
  t.equal(c.readTscAdjust(1), -10n);
});

t.test('bad arguments are VtimeErrors with a reason, never crashes', async (t) => {
  t.throws(() => new VirtualClock({ cpus: 0 }), { name: 'VtimeError', reason: 'EINVAL' });
  t.throws(() => new VirtualClock({ cpus: 65 }), { reason: 'EINVAL' });
  t.throws(() => new VirtualClock({ cpus: 1.5 }), { reason: 'EINVAL' });
  t.throws(() => new VirtualClock({ cpus: 1, realTsc: -1n }), { reason: 'EINVAL' });
  t.throws(() => new VirtualClock({ cpus: 1, realTsc: 5 as unknown as bigint }), { reason: 'ETYPE' });
  t.throws(() => new VirtualClock(null as unknown as { cpus: number }), { reason: 'ETYPE' });
  t.throws(() => new VirtualClock({ cpus: '2' as unknown as number }), { reason: 'ETYPE' });
  const c = new VirtualClock({ cpus: 2 });
  const range = t.throws(() => c.setSpeed(0n, 10001)) as VtimeError;
  t.type(range, VtimeError);
  t.equal(range.reason, 'ERANGE');
  t.match(range.hint, /1\/1000/);
  t.throws(() => c.setSpeed(0n, 1, 1001), { reason: 'ERANGE' });
  t.throws(() => c.setSpeed(0n, 0), { reason: 'EINVAL' });
  t.throws(() => c.setSpeed(0n, 1, 0n), { reason: 'EINVAL' });
  t.throws(() => c.setSpeed(0n, -1), { reason: 'EINVAL' });
  t.throws(() => c.setSpeed(0n, 2.5), { reason: 'EINVAL' });
  t.throws(() => c.setSpeed(0n, 2 ** 60), { reason: 'EINVAL' });
  t.throws(() => c.setSpeed(0n, 'x' as unknown as number), { reason: 'ETYPE' });
  t.throws(() => c.setSpeed(1 as unknown as bigint, 1), { reason: 'ETYPE' });
  t.throws(() => c.arm(2n ** 64n), { reason: 'EINVAL' });
  t.throws(() => c.read(2, 0n), { reason: 'EINVAL' });
  t.throws(() => c.read(-1, 0n), { reason: 'EINVAL' });
  t.throws(() => c.read(undefined as unknown as number, 0n), { reason: 'ETYPE' });
  t.throws(() => c.toReal(0n, 7), { reason: 'EINVAL' });
  t.throws(() => c.toVirtual(-5n), { reason: 'EINVAL' });
  t.throws(() => c.setCpuOffset(0, 2n ** 63n), { reason: 'EINVAL' });
  t.throws(() => c.writeTsc(0, 0n, -1n), { reason: 'EINVAL' });
  t.throws(() => c.writeTscAdjust(1, 'x' as unknown as bigint), { reason: 'ETYPE' });
  t.throws(() => c.readTscAdjust(3), { reason: 'EINVAL' });
  t.throws(() => c.setPublishLead(-1n), { reason: 'EINVAL' });
  t.equal(c.state().epochCount, 1n, 'nothing changed on error');
});

t.test('errors thrown by JavaScript inside a call pass through unchanged', async (t) => {
  const opts = { get cpus(): number { throw new SyntaxError('from a getter'); } };
  t.throws(() => new VirtualClock(opts), SyntaxError);
});

t.test('the install hook explains a missing cmake and does not fail the install', async (t) => {
  const r = spawnSync(process.execPath, ['scripts/build-addon.mjs'], { env: { PATH: '/nonexistent' }, encoding: 'utf8' });
  t.equal(r.status, 0);
  t.match(r.stderr, /NOT built: cmake is not installed/);
  t.match(r.stderr, /apt-get install cmake g\+\+/);
  const strict = spawnSync(process.execPath, ['scripts/build-addon.mjs', '--strict'], { env: { PATH: '/nonexistent' }, encoding: 'utf8' });
  t.equal(strict.status, 1);
});

t.test('buildNative fails with the script output when cmake is missing, and builds when present', async (t) => {
  const path = process.env.PATH;
  t.teardown(() => { process.env.PATH = path; });
  process.env.PATH = '/nonexistent';
  await t.rejects(buildNative(), ToolFailedError);
  process.env.PATH = path;
  t.equal(await buildNative(), built);
  t.equal(nativeAvailable(), true);
});
