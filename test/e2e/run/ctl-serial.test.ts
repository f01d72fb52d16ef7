// `tsx-hv ctl --port DEVICE` against a machine tsx-hv did not start (issue 16): the test starts
// QEMU itself, not through tsx-hv's engine, with the standard media and the hypervisor port on a
// pseudo-terminal (`-chardev pty`), as a lab PC's hypervisor port would sit on a serial cable.
// The real CLI then talks to it through that tty: the line carries the hypervisor's log as well
// (boot lines, the log lines its own commands cause), which the client must skip to find each
// reply. Bad devices get a clear error and exit 2; a silent line times out with exit 124.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram } from '../../../src/util/run.js';
import { packageRoot } from '../../../src/builder/layout.js';
import { QEMU_BINARY, QEMU_CPU } from '../../../src/engines/qemu-args.js';
import { standardMedia } from '../hv/fixtures.js';

const media = await standardMedia();
const dir = mkdtempSync(join(tmpdir(), 'tsx-hv-ctl-serial-'));
const qemu = spawn(QEMU_BINARY, [
  '-machine', 'pc', '-cpu', QEMU_CPU, '-m', '512M', '-display', 'none', '-monitor', 'none', '-no-reboot',
  '-serial', `file:${join(dir, 'console.log')}`,
  '-chardev', 'pty,id=hvport', '-serial', 'chardev:hvport',
  // A pty wired to nothing: a line on which no hypervisor answers.
  '-chardev', 'pty,id=silent',
  '-drive', `file=${media},format=raw,if=ide,media=cdrom,readonly=on`, '-boot', 'order=d',
], { stdio: ['ignore', 'pipe', 'pipe'] });
t.teardown(() => {
  qemu.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

// QEMU names the ptys it made: "char device redirected to /dev/pts/N (label hvport)".
const [pty, silent] = await new Promise<[string, string]>((resolve, reject) => {
  let text = '';
  const look = (d: Buffer): void => {
    text += d.toString();
    const hv = /char device redirected to (\/dev\/pts\/\d+) \(label hvport\)/.exec(text);
    const none = /char device redirected to (\/dev\/pts\/\d+) \(label silent\)/.exec(text);
    if (hv && none) resolve([hv[1]!, none[1]!]);
  };
  qemu.stdout.on('data', look);
  qemu.stderr.on('data', look);
  qemu.once('exit', (code) => reject(new Error(`QEMU exited (${code}) before naming its ptys: ${text}`)));
  setTimeout(() => reject(new Error(`QEMU named no ptys within 30 s: ${text}`)), 30_000);
});

async function ctl(args: string[], timeoutS = 20): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return runProgram(process.execPath, [join(packageRoot(), 'bin', 'tsx-hv.js'), 'ctl', ...args, '--timeout', String(timeoutS)], { allowFailure: true, timeout: (timeoutS + 30) * 1000 });
}

interface Status {
  speed: string;
  armed: boolean;
  tsc_hz: number;
  real_tsc: number;
  virtual_tsc: number;
}

t.test('the hypervisor port on a tty: status, arm and speed through `ctl --port`', async (t) => {
  // The hypervisor answers as soon as it runs, long before Linux is up; the line meanwhile
  // carries its boot log, which the client skips.
  let first: { exitCode: number; stdout: string; stderr: string } | undefined;
  const started = performance.now();
  for (let i = 0; i < 20; i++) {
    first = await ctl(['--json', 'status', '--port', pty], 5);
    if (first.exitCode === 0) break;
  }
  t.equal(first?.exitCode, 0, `status answered (${first?.stderr.trim()})`);
  t.comment(`first status reply ${((performance.now() - started) / 1000).toFixed(1)} s after QEMU started`);
  const s0 = JSON.parse(first!.stdout) as Status;
  t.match(s0, { speed: String, armed: Boolean, tsc_hz: Number }, 'a status document');

  const arm = await ctl(['arm', '--port', pty, '--baud', '115200']);
  t.equal(arm.exitCode, 0, arm.stderr);
  t.match(arm.stdout, /^ok armed/);
  const speed = await ctl(['speed', '60', '--port', pty]);
  t.equal(speed.exitCode, 0, speed.stderr);
  t.equal(speed.stdout.trim(), 'ok speed 60/1');

  const a = JSON.parse((await ctl(['--json', 'status', '--port', pty])).stdout) as Status;
  await new Promise((r) => setTimeout(r, 3000));
  const b = JSON.parse((await ctl(['--json', 'status', '--port', pty])).stdout) as Status;
  t.equal(b.speed, '60/1');
  t.ok(b.armed, 'armed');
  const ratio = (b.virtual_tsc - a.virtual_tsc) / (b.real_tsc - a.real_tsc);
  t.comment(`between two status replies 3 s apart: virtual TSC advanced ${ratio.toFixed(4)} times the real TSC`);
  t.ok(Math.abs(ratio - 60) < 0.01, `the hypervisor's clock runs at 60x (${ratio})`);

  const back = await ctl(['speed', '1/2', '--port', pty]);
  t.equal(back.stdout.trim(), 'ok speed 1/2');
  t.equal((JSON.parse((await ctl(['--json', 'status', '--port', pty])).stdout) as Status).speed, '1/2');
});

t.test('bad devices and baud rates: a clear error, exit 2; a silent line: exit 124', async (t) => {
  const cases: [string[], RegExp][] = [
    [['status', '--port', '/nonexistent/ttyX'], /serial device \/nonexistent\/ttyX: no such file/],
    [['status', '--port', join(dir, 'console.log')], /is not a serial device \(not a character device\)/],
    [['status', '--port', '/dev/null'], /\/dev\/null is not a serial device \(not a terminal\)/],
    [['status', '--port', pty, '--baud', '12345'], /unsupported baud rate "12345"/],
    [['status', '--port', pty, '--socket', '/tmp/x.sock'], /--port and --socket/],
    [['status', '--baud', '9600'], /--baud is for --port/],
  ];
  for (const [args, message] of cases) {
    const r = await ctl(args);
    t.equal(r.exitCode, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr, message);
  }
  const quiet = await ctl(['status', '--port', silent], 2);
  t.equal(quiet.exitCode, 124, 'a line on which nobody answers: timeout, exit 124');
  t.match(quiet.stderr, /no reply to "status" on \/dev\/pts\/\d+ within 2000 ms/);
  // The hypervisor is unaffected.
  t.equal((await ctl(['status', '--port', pty])).exitCode, 0);
});
