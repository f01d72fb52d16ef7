// End to end: `tsx-hv build`, then real boots of the built ISO in QEMU TCG — the baseline entry
// (Linux alone), the default entry (Linux under tsx-hv), and an interactive `tsx-hv run` driven
// through its console and `tsx-hv ctl`. Boot times are printed as figures, not asserted.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../../src/cli/main.js';
import { packageRoot } from '../../../src/builder/layout.js';
import type { SmokeResult } from '../../../src/engines/smoke.js';

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const code = await main(['node', 'tsx-hv', ...args], {
      stdout: new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) }),
      stderr: new Writable({ write: (c, _e, cb) => ((err += String(c)), cb()) }),
    });
    return { code, out, err };
  } finally {
    process.env = saved;
  }
}

const boots: Record<string, number> = {};

t.test('tsx-hv build makes the media (and a second build is a no-op)', async (t) => {
  const first = await cli(['--json', 'build']);
  t.equal(first.code, 0, first.err);
  const doc = JSON.parse(first.out) as { outputs: Record<string, string> };
  for (const f of ['hvElf', 'agent', 'vmlinuz', 'initrd', 'iso']) t.ok(existsSync(doc.outputs[f]!), f);
  const second = await cli(['--json', 'build']);
  const steps = (JSON.parse(second.out) as { steps: { status: string }[] }).steps;
  t.ok(steps.every((s) => s.status === 'up-to-date'), 'nothing rebuilt');
});

t.test('run --smoke --no-hypervisor: the baseline Linux boots to the agent', async (t) => {
  const r = await cli(['--json', 'run', '--smoke', '--no-hypervisor', '--timeout', '150']);
  const doc = JSON.parse(r.out) as SmokeResult;
  t.equal(r.code, 0, doc.problems.join('; '));
  t.equal(doc.ok, true);
  t.equal(doc.ready?.hypervisor, null, 'no hypervisor CPUID signature');
  t.equal(doc.clocksource, 'tsc');
  t.equal(doc.hvLog.lines, 0, 'nothing on the hypervisor port');
  t.equal(doc.powerOff, 'agent');
  boots.baseline = doc.bootMs!;
  t.comment(`baseline boot to agent ready: ${(doc.bootMs! / 1000).toFixed(2)} s`);
});

t.test('run --smoke: Linux boots under tsx-hv, sees its CPUID signature, keeps the TSC clocksource', async (t) => {
  const r = await cli(['--json', 'run', '--smoke', '--timeout', '150']);
  const doc = JSON.parse(r.out) as SmokeResult;
  t.equal(r.code, 0, doc.problems.join('; '));
  t.equal(doc.ready?.hypervisor, 'tsx-hv-vtime', 'CPUID 0x40000000 signature seen from inside the guest');
  t.equal(doc.clocksource, 'tsc');
  t.ok(doc.hvLog.guestStarting, 'hypervisor log: guest starting');
  t.notOk(doc.hvLog.panic);
  t.equal(doc.powerOff, 'agent');
  boots.hypervisor = doc.bootMs!;
  t.comment(`boot to agent ready under tsx-hv: ${(doc.bootMs! / 1000).toFixed(2)} s`);
  if (boots.baseline) t.comment(`hypervisor overhead on boot: ${(((boots.hypervisor - boots.baseline) / boots.baseline) * 100).toFixed(1)}% (target < 20%)`);
});

t.test('run --smoke --uefi: the same media boots under UEFI (OVMF) into the hypervisor', async (t) => {
  const r = await cli(['--json', 'run', '--smoke', '--uefi', '--timeout', '200']);
  const doc = JSON.parse(r.out) as SmokeResult;
  t.equal(r.code, 0, doc.problems.join('; '));
  t.equal(doc.ready?.hypervisor, 'tsx-hv-vtime');
  t.equal(doc.clocksource, 'tsc');
  t.comment(`UEFI boot to agent ready under tsx-hv: ${(doc.bootMs! / 1000).toFixed(2)} s`);
});

t.test('interactive run: a guest shell on stdin/stdout, tsx-hv ctl finds it, Ctrl-C powers off', async (t) => {
  const runtime = await mkdtemp(join(tmpdir(), 'run-e2e-'));
  t.teardown(() => rm(runtime, { recursive: true, force: true }));
  const env = { ...process.env, XDG_RUNTIME_DIR: runtime, NO_COLOR: '1' };
  const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'tsx-hv.js'), 'run'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const until = async (what: () => boolean, ms: number, label: string) => {
    const end = Date.now() + ms;
    while (!what()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${label}\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await until(() => /tsx-hv-agent: auto-arm: armed/.test(stdout), 150_000, 'the agent to arm the clock');
  t.match(stderr, /control socket\s+\S+control\.sock/);
  t.match(stderr, /QMP\s+\S+qmp\.sock/);
  t.match(stderr, /hypervisor port\s+\S+hv\.sock/);
  t.match(stderr, /\[hv\] # tsx-hv: guest starting/, 'hypervisor log relayed');

  const ctlEnv = { XDG_RUNTIME_DIR: runtime };
  const speed = await cli(['ctl', 'speed', '10'], ctlEnv);
  t.equal(speed.code, 0, speed.err);
  t.match(speed.out, /^ok/);
  const status = await cli(['--json', 'ctl', 'status'], ctlEnv);
  t.equal(status.code, 0, status.err);
  const doc = JSON.parse(status.out) as { armed: boolean; p: number; q: number };
  t.equal(doc.armed, true);
  t.same([doc.p, doc.q], [10, 1]);
  const bad = await cli(['ctl', 'speed', 'fast'], ctlEnv);
  t.equal(bad.code, 2, 'usage error');
  const unknown = await cli(['ctl', 'reboot'], ctlEnv);
  t.equal(unknown.code, 2);

  // A guest shell is on the console; requests marked with Ctrl-^ still reach the agent, whose
  // hypercalls see the speed the control port set.
  await until(() => /@h\d+ ok\s*$/m.test(stdout) || /# $/.test(stdout), 30_000, 'the guest shell');
  child.stdin.write('echo tsxhv$((6*7))\n');
  await until(() => /tsxhv42/.test(stdout), 20_000, 'the shell to run a command');
  child.stdin.write('\u001e@e2e1 status\n');
  await until(() => /@e2e1 (ok|err)/.test(stdout), 20_000, 'the agent status reply');
  t.match(stdout, /@e2e1 ok speed=10\/1 armed=1/);
  child.stdin.write('\u001e@e2e2 speed 1\n');
  await until(() => /@e2e2 (ok|err)/.test(stdout), 20_000, 'the agent speed reply');
  t.match(stdout, /@e2e2 ok speed=1\/1 armed=1/);

  child.stdin.write(Buffer.from([0x03]));
  t.equal(await exited, 0, 'exit 0 after a clean power-off');
  t.match(stderr, /machine off \(agent\)/);
  const after = await cli(['ctl', 'status'], ctlEnv);
  t.equal(after.code, 1, 'no running machine once it is off');
  t.match(after.err, /no running `tsx-hv run`/);
});
