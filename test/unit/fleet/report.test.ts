import t from 'tap';
import { counts, fleetJunit, summaryRows, summaryTable } from '../../../src/fleet/report.js';
import type { FleetReport } from '../../../src/fleet/fleet.js';

const rollout: FleetReport = {
  command: 'rollout',
  inventory: '/lab/lab.ini',
  journal: '/lab/lab.ini.tsx-hv-journal.ndjson',
  log: '/lab/lab.ini.tsx-hv-ansible.log',
  hosts: [
    { host: 'lab1', result: 'done', wave: 1, speed: 10.0021, requested: 10, bootS: 98.4, durationS: 250 },
    { host: 'lab2', result: 'rolled-back', wave: 1, step: 'health', reason: 'measure 10x for 10 s: 3.2x, outside 1% <of> "10x"', speed: 3.2, requested: 10, bootS: 101 },
    { host: 'lab3', result: 'pending', reason: 'the rollout stopped before its wave' },
    { host: 'lab4', result: 'refused', reason: 'no svm or vmx' },
    { host: 'lab5', result: 'skipped', reason: 'finished in run X', speed: 9.99 },
  ],
  waves: [['lab1', 'lab2']],
  stopped: true,
  passed: false,
  exitCode: 1,
  durationS: 420.5,
};

t.test('the rollout table has one row per host: wave, result, measured speed, boot time and why', async (t) => {
  const rows = summaryRows(rollout);
  t.same(rows[0], ['host', 'wave', 'result', 'speed', 'boot', 'why']);
  t.same(rows[1], ['lab1', '1', 'done', '10.002x of 10x', '98 s', '']);
  t.same(rows[2]!.slice(0, 5), ['lab2', '1', 'rolled-back', '3.200x of 10x', '101 s']);
  t.match(rows[2]![5], /^at health: measure 10x/);
  t.same(rows[3]!.slice(0, 3), ['lab3', '-', 'pending']);
  t.match(summaryTable(rollout), /^host {2}wave {2}result/);
  t.equal(counts(rollout), '1 done, 1 rolled-back, 1 pending, 1 refused, 1 skipped');
});

t.test('JUnit: a test case per host; failed hosts fail, refused and pending ones are skipped, figures are properties', async (t) => {
  const xml = fleetJunit(rollout);
  t.match(xml, /<testsuites name="tsx-hv fleet rollout" tests="5" failures="1" errors="0" skipped="2" time="420.500">/);
  t.match(xml, /<testcase classname="wave-1" name="lab1" time="250.000">\n {6}<properties><property name="result" value="done"\/><property name="wave" value="1"\/><property name="speed" value="10.0021"\/><property name="requested" value="10"\/><property name="boot_s" value="98.4"\/><\/properties>\n {4}<\/testcase>/);
  t.match(xml, /<failure message="at health: measure 10x for 10 s: 3.2x, outside 1% &lt;of&gt; &quot;10x&quot;" type="rolled-back">/);
  t.match(xml, /name="lab3"[^]*?<skipped message="the rollout stopped before its wave"\/>/);
  t.match(xml, /name="lab4"[^]*?<skipped message="no svm or vmx"\/>/);
  t.notMatch(xml.split('name="lab5"')[1]!.split('</testcase>')[0]!, /<failure|<skipped/, 'a host finished in an earlier run passes');
  const rollback: FleetReport = { ...rollout, command: 'rollback', hosts: [{ host: 'lab1', result: 'rolled-back' }, { host: 'lab2', result: 'failed', reason: 'unreachable' }] };
  t.match(fleetJunit(rollback), /tests="2" failures="1"/, 'in a rollback, rolled-back is the success');
});

t.test('plan and status tables show the facts and the journal', async (t) => {
  const plan: FleetReport = {
    ...rollout,
    command: 'plan',
    hosts: [
      { host: 'lab1', result: 'fit', wave: 1, facts: { os_pretty: 'Debian GNU/Linux 12 (bookworm)', firmware: 'uefi', cpu_vendor: 'AuthenticAMD', svm: true, cpus: 4, tsc: true, constant_tsc: true, nonstop_tsc: true } },
      { host: 'lab2', result: 'refused', reason: 'no svm', notes: ['no constant_tsc: x'], facts: { cpu_vendor: 'GenuineIntel', cpus: 2, tsc: true } },
    ],
  };
  const rows = summaryRows(plan);
  t.same(rows[1], ['lab1', '1', 'fit', 'Debian GNU/Linux 12 (bookworm)', 'uefi', 'AuthenticAMD svm, 4 CPUs', 'constant,nonstop', '']);
  t.same(rows[2]!.slice(5), ['GenuineIntel no svm/vmx, 2 CPUs', 'tsc', 'no svm; no constant_tsc: x']);
  const status: FleetReport = { ...rollout, command: 'status', hosts: [{ host: 'lab1', result: 'done', facts: { cpus_check: 'cpus=2 under=2' }, journal: { result: 'done', run: 'R', speed: 10.001 } }, { host: 'lab2', result: 'unreachable', reason: 'refused' }] };
  t.same(summaryRows(status)[1], ['lab1', 'done', 'cpus=2 under=2', 'done (R)', '10.001x', '']);
  t.same(summaryRows(status)[2], ['lab2', 'unreachable', '-', '-', '-', 'refused']);
});
