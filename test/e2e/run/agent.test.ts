// The guest agent binary, run on the build host with `serve -` (stdin/stdout instead of ttyS0):
// the request/reply protocol, exec, the shell relay and the behaviour without a hypervisor
// (every hypervisor command answers `err no-hypervisor` instead of faulting on VMMCALL).
import t from 'tap';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileAgent } from '../../../src/builder/compile.js';
import { packageRoot } from '../../../src/builder/layout.js';
import { execRequest, parseClock, parseExec, parseReady, parseReply } from '../../../src/engines/agent-protocol.js';

let agentPath = '';

t.before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'agent-host-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  agentPath = join(dir, 'tsx-hv-agent');
  await compileAgent(packageRoot(), agentPath);
});

function serve(): { child: ChildProcessWithoutNullStreams; lines: string[]; next: (re: RegExp) => Promise<string> } {
  const child = spawn(agentPath, ['serve', '-']);
  const lines: string[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts.map((l) => l.replace(/\r$/, '')));
  });
  const next = async (re: RegExp) => {
    for (let i = 0; i < 200; i++) {
      const hit = lines.find((l) => re.test(l));
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no line matching ${re}; got:\n${lines.join('\n')}`);
  };
  return { child, lines, next };
}

t.test('ready line, clock, exec, errors and id handling', async (t) => {
  const { child, lines, next } = serve();
  t.teardown(() => child.kill());
  const ready = parseReady(await next(/tsx-hv-agent: ready/));
  t.equal(ready?.version, 1);
  t.equal(ready?.hypervisor, null, 'the build host has no tsx-hv');
  await next(/auto-arm: no tsx-hv hypervisor/);
  child.stdin.write('@c1 clock\n\u001e@c2 clock\n');
  const c1 = parseClock(parseReply(await next(/^@c1 /))!.payload);
  const c2 = parseClock(parseReply(await next(/^@c2 /))!.payload);
  t.ok(c2.monoNs >= c1.monoNs, 'monotonic');
  t.ok(c1.tsc > 0n);
  child.stdin.write(`@x1 ${execRequest('echo out; echo err >&2; exit 7')}\n`);
  t.same(parseExec(parseReply(await next(/^@x1 /))!.payload), { exitCode: 7, output: 'out\nerr\n' });
  child.stdin.write('@x2 exec !!!!\n@x3 exec\n');
  t.match(await next(/^@x2 /), /^@x2 err usage: exec/);
  t.match(await next(/^@x3 /), /^@x3 err usage: exec/);
  child.stdin.write('@s1 speed 60\n@s2 speed 0\n@s3 status\n@s4 arm\n@u1 reboot\n');
  t.equal(await next(/^@s1 /), '@s1 err no-hypervisor');
  t.match(await next(/^@s2 /), /^@s2 err usage: speed/);
  t.equal(await next(/^@s3 /), '@s3 err no-hypervisor');
  t.equal(await next(/^@s4 /), '@s4 err no-hypervisor');
  t.match(await next(/^@u1 /), /^@u1 err unknown-command/);
  child.stdin.write('@z1 sleep 200\n@z2 sleep -5\n@z3 sleep 99999999999\n@z4 sleep 1.5\n');
  const slept = /^@z1 ok slept=(\d+) late=(-?\d+)$/.exec(await next(/^@z1 /));
  t.ok(slept, 'sleep <ms>: slept= and late=');
  t.ok(Number(slept![1]) >= 200e6 && Number(slept![2]) >= 0, `the agent slept 200 ms of its monotonic clock, never less (${slept![1]} ns, late ${slept![2]} ns)`);
  for (const id of ['z2', 'z3', 'z4']) t.match(await next(new RegExp(`^@${id} `)), new RegExp(`^@${id} err bad-argument`), `${id}: a bad duration is refused`);
  const before = lines.length;
  child.stdin.write('hello\n@bad!id clock\n@ clock\n@' + 'x'.repeat(40) + ' clock\n@z9 clock\n');
  await next(/^@z9 ok/);
  t.equal(lines.length, before + 1, 'non-requests get no reply');
});

t.test('shell: keystrokes go to the shell, marked lines to the agent', async (t) => {
  const { child, next } = serve();
  t.teardown(() => child.kill());
  await next(/tsx-hv-agent: ready/);
  child.stdin.write('\u001e@sh shell\n');
  await next(/^@sh ok$/);
  child.stdin.write('\u001e@sh2 shell\n');
  t.equal(await next(/^@sh2 /), '@sh2 err shell-running');
  child.stdin.write('echo in-shell $((40+2))\n');
  // The shell's prompt may land on the same line as the output, depending on timing and on
  // the PS1 the environment gives it; the pty's echo of the command ends in "$((40+2))".
  await next(/in-shell 42$/);
  child.stdin.write('\u001e@k1 clock\n');
  t.match(await next(/@k1 /), /@k1 ok mono=\d+/);
  child.stdin.write('exit 5\n');
  await next(/shell exited with status 5/);
  child.stdin.write('@after clock\n');
  t.match(await next(/^@after /), /^@after ok/, 'back to request mode');
});

t.test('command-line mode without a hypervisor', async (t) => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; err: string; out: string }>((resolve) => {
      const c = spawn(agentPath, args);
      let err = '';
      let out = '';
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('close', (code) => resolve({ code, err, out })); // 'close': after stdout and stderr are drained
    });
  t.match(await run(['status']), { code: 3, err: /no-hypervisor/ });
  t.match(await run(['speed', '60']), { code: 3 });
  t.match(await run(['speed', '1/0']), { code: 2, err: /usage/ });
  t.match(await run(['arm']), { code: 3 });
  t.match(await run(['autoarm']), { code: 0, out: /no tsx-hv hypervisor, nothing to arm/ });
  t.match(await run(['frobnicate']), { code: 2, err: /usage: tsx-hv-agent/ });
  t.match(await run(['keys', '/dev/null', '1']), { code: 1, err: /keys: \/dev\/null is not a virtual console/ });
  t.match(await run(['keys', '/nonexistent/tty', '1']), { code: 1, err: /keys: cannot open \/nonexistent\/tty/ });
  t.match(await run(['keys', '/dev/tty1', '0']), { code: 2, err: /usage: tsx-hv-agent/ });
});
