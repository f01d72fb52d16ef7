import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScenarioError, fieldName, formatProblem, loadScenario, normaliseStep, parseScenario } from '../../../src/scenario/load.js';
import { UsageError } from '../../../src/errors.js';

function problems(yaml: string): string[] {
  try {
    parseScenario(yaml, 'x.yaml');
  } catch (err) {
    if (err instanceof ScenarioError) return err.problems.map(formatProblem);
    throw err;
  }
  throw new Error('expected a ScenarioError');
}

t.test('a valid scenario gets defaults filled in and lines recorded', async (t) => {
  const s = parseScenario(
    `name: ladder
description: d
timeout: 100
machine:
  memory: 1G
  media: ../m.iso
  hypervisor: grace=0
steps:
  - arm: hypercall
  - speed: 1/10
  - measure: 3
    tolerance: 1
  - hotkey: [ctrl, alt, f12]
    times: 3
  - exec: uname -r
    output: "^6\\\\."
  - sleep: 2
  - wait: ready
    regex: true
    on: hypervisor
    timeout: 5
  - monotonic: true
  - poweroff: true
`,
    '/scen/dir/ladder.yaml',
  );
  t.equal(s.name, 'ladder');
  t.equal(s.timeoutS, 100);
  t.same(s.machine, { engine: 'qemu', cpus: 1, memory: '1G', media: '/scen/m.iso', hypervisor: 'grace=0', append: undefined, kernel: undefined, initrd: undefined, bootTimeoutS: 300 });
  t.same(s.steps.map((x) => x.kind), ['arm', 'speed', 'measure', 'hotkey', 'exec', 'sleep', 'wait', 'monotonic', 'poweroff']);
  t.same(s.steps.map((x) => x.line), [9, 10, 11, 13, 15, 17, 18, 22, 23]);
  t.match(s.steps[1], { speed: { p: 1, q: 10 }, via: 'control', name: 'speed 0.1x (control)' });
  t.match(s.steps[2], { durationS: 3, tolerancePct: 1, minR2: 0.99, expect: undefined, name: 'measure 3 s' });
  t.match(s.steps[3], { keys: ['ctrl', 'alt', 'f12'], times: 3, name: 'hotkey ctrl+alt+f12 x3' });
  t.match(s.steps[4], { command: 'uname -r', exit: 0, output: '^6\\.' });
  t.match(s.steps[5], { seconds: 2, expect: 'report', tolerancePct: 15 });
  t.match(s.steps[6], { pattern: 'ready', regex: true, on: 'hypervisor', timeoutS: 5 });
});

t.test('machine.engine bochs with its CPU vendor and instruction rate, and its longer boot limit', async (t) => {
  const s = parseScenario('machine:\n  engine: bochs\n  cpu: amd\n  ips: 30000000\nsteps:\n  - poweroff: true\n', 'b.yaml');
  t.match(s.machine, { engine: 'bochs', cpuVendor: 'amd', ips: 30_000_000, bootTimeoutS: 900 });
  const plain = parseScenario('machine:\n  engine: bochs\n  bootTimeout: 400\nsteps:\n  - poweroff: true\n', 'b.yaml');
  t.match(plain.machine, { engine: 'bochs', bootTimeoutS: 400 });
  t.notOk('cpuVendor' in plain.machine || 'ips' in plain.machine, 'the engine chooses its defaults');
});

t.test('cpu: intel and ips need engine: bochs; engine and rate are checked', async (t) => {
  const err = (text: string): string => {
    try {
      parseScenario(text, 'x.yaml');
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };
  t.equal(err('machine:\n  cpu: intel\n  ips: 50000000\nsteps:\n  - poweroff: true\n'), 'x.yaml:2:8: machine.cpu: QEMU TCG emulates AMD SVM only; intel (VT-x) needs engine: bochs\nx.yaml:3:8: machine.ips: sets the instruction rate of Bochs; needs engine: bochs');
  t.equal(err('machine:\n  engine: qemu\n  cpu: amd\nsteps:\n  - poweroff: true\n'), 'no error');
  t.match(err('machine:\n  engine: vmware\nsteps:\n  - poweroff: true\n'), /machine\.engine: must be one of: qemu, bochs/);
  t.match(err('machine:\n  engine: bochs\n  ips: 12\nsteps:\n  - poweroff: true\n'), /machine\.ips: must be >= 1000000/);
});

t.test('the name defaults to the file name', async (t) => {
  t.equal(parseScenario('steps:\n  - poweroff: true\n', 'dir/my-check.yaml').name, 'my-check');
});

t.test('every problem is reported with file, line, column and field', async (t) => {
  const p = problems(`name: bad
machine:
  cpus: 65
  memry: 1G
steps:
  - measure: 5
    tolerence: 2
  - speed: -1
  - measure: 5
    speed: 2
  - frobnicate: 1
  - hotkey: bogus
  - sleep: 2
    expect: fast
  - speed: "1/3"
    via: hotkey
  - 7
`);
  t.same(p, [
    'x.yaml:3:9: machine.cpus: must be <= 64',
    'x.yaml:4:3: machine.memry: unknown field',
    'x.yaml:7:5: steps[0].tolerence: unknown field (a step has one action and its options)',
    'x.yaml:8:12: steps[1].speed: speed -1 is out of range: the hypervisor runs guests from 1/1000 to 10000 times real time',
    'x.yaml:10:5: steps[2]: one action per step, found measure and speed; split it into two steps',
    'x.yaml:11:5: steps[3]: a step needs one action: wait, arm, speed, hotkey, measure, exec, sleep, monotonic, poweroff',
    'x.yaml:12:13: steps[4].hotkey: must be toggle, faster, slower, or a list of QEMU key names (["ctrl", "alt", "f12"])',
    'x.yaml:14:13: steps[5].expect: must be one of: scaled, unchanged, report',
    'x.yaml:15:12: steps[6].speed: hotkeys only reach whole speeds (1, 2, ... N); use via: control or hypercall',
    'x.yaml:17:5: steps[7]: must be object',
  ]);
});

t.test('speeds in scenarios follow the one speed rule, with the same messages as --speed and ctl', async (t) => {
  const p = problems(`name: speeds
steps:
  - speed: 0.0000001
  - speed: "20000"
  - measure: 5
    expect: fast
  - hotkey: faster
    expect: 1/1001
  - speed: 0.1234567
  - speed: [1]
  - speed: "1000000001/1000000000"
`);
  t.same(p, [
    'x.yaml:3:12: steps[0].speed: speed 1e-7 is out of range: the hypervisor runs guests from 1/1000 to 10000 times real time',
    'x.yaml:4:12: steps[1].speed: speed "20000" is out of range: the hypervisor runs guests from 1/1000 to 10000 times real time',
    'x.yaml:6:13: steps[2].expect: speed "fast" is not a speed: use a whole number (60), a fraction P/Q (1/10) or a decimal with at most 6 digits after the point (0.5)',
    'x.yaml:8:13: steps[3].expect: speed "1/1001" is out of range: the hypervisor runs guests from 1/1000 to 10000 times real time',
    'x.yaml:9:12: steps[4].speed: speed 0.1234567 has more than 6 digits after the point',
    'x.yaml:10:12: steps[5].speed: must be a speed: a number (60, 0.5) or a fraction "P/Q" ("1/10")',
    'x.yaml:11:12: steps[6].speed: speed "1000000001/1000000000" reduces to 1000000001/1000000000, whose terms are longer than the 9 digits the hypervisor\'s control protocol reads',
  ]);
  const ok = parseScenario('name: ok\nsteps:\n  - speed: 0.001\n  - speed: "10000"\n  - measure: 5\n    expect: 4/6\n', 'ok.yaml');
  t.match(ok.steps, [{ speed: { p: 1, q: 1000 } }, { speed: { p: 10000, q: 1 } }, { expect: { p: 2, q: 3 } }], 'the ends of the range are in it; fractions are reduced');
});

t.test('missing and mistyped top-level fields', async (t) => {
  t.same(problems('name: x\n'), ['x.yaml:1:1: steps: is required']);
  t.same(problems('steps: []\n'), ['x.yaml:1:8: steps: must NOT have fewer than 1 items']);
  t.same(problems('- 1\n'), ['x.yaml:1:1: must be object']);
  t.same(problems('steps:\n  - measure: 5\n    timeout: "x"\n'), ['x.yaml:3:14: steps[0].timeout: must be number']);
  t.same(problems('steps:\n  - poweroff: false\n'), ['x.yaml:2:15: steps[0].poweroff: must be equal to constant']);
  t.same(problems(''), ['x.yaml:1:1: must be object']);
});

t.test('YAML syntax errors and duplicate keys point at their line', async (t) => {
  t.match(problems('steps: [\n'), [/^x\.yaml:2:1: /]);
  t.match(problems('steps:\n  - measure: 1\n    measure: 2\n'), [/^x\.yaml:3:5: Map keys must be unique/]);
});

t.test('the error is a usage error (exit 2) that lists every problem', async (t) => {
  const err = (() => {
    try {
      parseScenario('steps:\n  - x: 1\n', 'f.yaml');
    } catch (e) {
      return e as ScenarioError;
    }
  })()!;
  t.type(err, UsageError);
  t.equal(err.exitCode, 2);
  t.match(err.message, /^f\.yaml:2:5: steps\[0\]: a step needs one action/);
  t.match(err.hint, /docs\/scenarios\.md/);
});

t.test('loadScenario reads a file and reports a missing one as a usage error', async (t) => {
  const dir = t.testdir({ 'a.yaml': 'steps:\n  - poweroff: true\n' });
  t.equal((await loadScenario(join(dir, 'a.yaml'))).name, 'a');
  await t.rejects(loadScenario(join(dir, 'nope.yaml')), { exitCode: 2, message: /cannot read scenario .*nope\.yaml: no such file/ });
  await writeFile(join(dir, 'b.yaml'), 'steps:\n  - bad: 1\n');
  await t.rejects(loadScenario(join(dir, 'b.yaml')), { message: /b\.yaml:2:5: steps\[0\]/ });
  await t.rejects(loadScenario(dir), { message: /cannot read scenario/ });
});

t.test('field names and step normalisation helpers', async (t) => {
  t.equal(fieldName(['steps', 3, 'tolerance']), 'steps[3].tolerance');
  t.equal(fieldName([]), '');
  t.equal(formatProblem({ file: 'f', line: 1, col: 2, field: '', message: 'm' }), 'f:1:2: m');
  t.match(normaliseStep({ hotkey: 'toggle', expect: 10, name: 'flip' }, 4), { kind: 'hotkey', name: 'flip', expect: { p: 10, q: 1 }, times: 1, line: 4 });
  t.match(normaliseStep({ measure: 2, expect: '1/2' }, 1), { name: 'measure 0.5x' });
});

t.test('machine.disks and machine.boot: disks relative to the file, boot: disk needs a disk and no media, QEMU only', async (t) => {
  const s = parseScenario('machine:\n  disks: [debian.raw, /abs/data.qcow2]\n  boot: disk\nsteps:\n  - poweroff: true\n', '/scen/d.yaml');
  t.same(s.machine.disks, ['/scen/debian.raw', '/abs/data.qcow2']);
  t.equal(s.machine.boot, 'disk');
  const plain = parseScenario('steps:\n  - poweroff: true\n', '/scen/p.yaml');
  t.notOk('disks' in plain.machine || 'boot' in plain.machine, 'absent unless given');
  const err = (text: string): string => {
    try {
      parseScenario(text, 'x.yaml');
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };
  t.equal(err('machine:\n  boot: disk\nsteps:\n  - poweroff: true\n'), 'x.yaml:2:9: machine.boot: boot: disk needs machine.disks (the disk to boot)');
  t.match(err('machine:\n  boot: disk\n  disks: [a.raw]\n  media: m.iso\nsteps:\n  - poweroff: true\n'), /machine\.media: a machine that boots its disk \(boot: disk\) has no media/);
  t.match(err('machine:\n  engine: bochs\n  disks: [a.raw]\nsteps:\n  - poweroff: true\n'), /machine\.disks: disk images need engine: qemu/);
  t.match(err('machine:\n  boot: floppy\nsteps:\n  - poweroff: true\n'), /machine\.boot: must be one of: media, disk/);
  t.match(err('machine:\n  disks: []\nsteps:\n  - poweroff: true\n'), /machine\.disks/);
});

t.test('machine.boot: chain needs a disk, and runs under BIOS or UEFI', async (t) => {
  for (const firmware of ['bios', 'uefi']) {
    const s = parseScenario(`machine:\n  disks: [debian.raw]\n  boot: chain\n  firmware: ${firmware}\nsteps:\n  - poweroff: true\n`, '/scen/c.yaml');
    t.match(s.machine, { boot: 'chain', firmware, disks: ['/scen/debian.raw'] }, firmware);
  }
  t.throws(() => parseScenario('machine:\n  boot: chain\n  firmware: uefi\nsteps:\n  - poweroff: true\n', 'x.yaml'), /x\.yaml:2:9: machine\.boot: boot: chain needs machine\.disks/);
});
