// End to end under Bochs 2.7 (--engine bochs): the standard media (the same build every e2e test
// boots; nothing is built for Bochs) boots on an emulated Intel CPU with VT-x into the
// hypervisor's VMX backend and on to the guest agent; the control port answers `status`, the agent
// runs a command, the hypervisor's hotkey arrives through Bochs' RFB display, and the agent's
// poweroff ends Bochs cleanly. Then the baseline entry is chosen by typing into GRUB's menu.
// Times are printed as figures, not asserted (Bochs boots Linux in 2-4 minutes here; the
// Debian kernel's XZ decompression alone takes most of a minute).
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { startMachine } from '../../../src/engines/start.js';
import { execRequest, parseExec } from '../../../src/engines/agent-protocol.js';
import { BASELINE_ENTRY_TITLE, visibleText } from '../../../src/engines/grub-menu.js';
import { standardMedia } from '../hv/fixtures.js';

const READY_TIMEOUT_MS = 420_000;

const media = await standardMedia();

async function until(what: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!what() && Date.now() < end) await new Promise((r) => setTimeout(r, 250));
  return what();
}

t.test('Bochs (Intel VT-x): Linux boots under the VMX backend to the agent, answers, takes a hotkey, powers off', async (t) => {
  const t0 = performance.now();
  const m = await startMachine({ engine: 'bochs', cpuVendor: 'intel', media });
  t.teardown(() => m.kill());
  t.match(m.paths.console, /^127\.0\.0\.1:\d+$/, 'the console is a TCP port on localhost');
  t.match(m.paths.rfb, /^127\.0\.0\.1:59\d\d$/, "Bochs' RFB display was found in its log");
  t.equal(m.paths.qmp, undefined, 'no QMP under Bochs');

  const { ready, bootMs } = await m.waitForReady(READY_TIMEOUT_MS);
  t.equal(ready.hypervisor, 'tsx-hv-vtime', 'the guest sees the tsx-hv CPUID signature');
  t.equal(ready.vendor, 'GenuineIntel', 'on an Intel CPU');
  t.comment(`Bochs boot to agent ready: ${(bootMs / 1000).toFixed(1)} s`);
  const log = m.hvLog.join('\n');
  t.match(log, /# tsx-hv: VT-x: cpu 0 in VMX root operation/, 'the hypervisor runs its VT-x backend');
  t.match(log, /# tsx-hv: VT-x: cpu 0 VMLAUNCH done/);
  t.match(log, /# tsx-hv: guest starting/);
  t.notMatch(log, /# PANIC/);

  let t1 = performance.now();
  const status = await m.control('status');
  t.match(status, /^ok \{/, 'status on the control port');
  const doc = JSON.parse(status.slice(3)) as { speed: string; exits: Record<string, number> };
  t.equal(doc.speed, '1/1');
  t.ok(doc.exits.cpuid! > 0, `CPUID exits counted (${doc.exits.cpuid})`);
  t.comment(`control status reply: ${((performance.now() - t1) / 1000).toFixed(2)} s`);

  t1 = performance.now();
  const r = parseExec(await m.agent(execRequest('uname -r')));
  t.equal(r.exitCode, 0);
  t.match(r.output, /^6\.\d+\.\d+-\S+\n$/, `uname -r: ${r.output.trim()}`);
  t.comment(`agent exec reply: ${((performance.now() - t1) / 1000).toFixed(2)} s`);

  const from = m.hvLog.length;
  t1 = performance.now();
  await m.sendKeys(['ctrl', 'alt', 'f12']);
  const toggled = await until(() => m.hvLog.slice(from).some((l) => l.startsWith('# tsx-hv: hotkey toggle: 1/1 -> 10/1')), 30_000);
  t.ok(toggled, `Ctrl+Alt+F12 through RFB reached the hypervisor: ${m.hvLog.slice(from).join('; ')}`);
  t.comment(`hotkey to hypervisor log: ${((performance.now() - t1) / 1000).toFixed(2)} s`);

  t1 = performance.now();
  const off = await m.powerOff();
  t.same(off, { code: 0, signal: null, method: 'agent' }, "the agent's poweroff ended Bochs (ACPI soft power-off, read as exit 0)");
  t.comment(`power-off: ${((performance.now() - t1) / 1000).toFixed(2)} s; whole run ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  t.match(await readFile(m.paths.consoleLog, 'utf8'), /tsx-hv-agent: ready \{/, 'the console log was written');
  t.match(await readFile(m.paths.hvLog, 'utf8'), /# tsx-hv: guest starting/, 'the hypervisor log was written');
  t.match(await readFile(m.paths.emulatorLog!, 'utf8'), /ACPI control: soft power off/, "Bochs' own log was kept");
});

t.test('Bochs, --no-hypervisor: the baseline entry, chosen by typing into GRUB\'s menu on the console, boots Linux alone', async (t) => {
  const m = await startMachine({ engine: 'bochs', media, hypervisor: false });
  t.teardown(() => m.kill());
  let text = '';
  m.console.on('data', (d) => (text = visibleText(text + d.toString('latin1'))));
  // GRUB redraws the two entries with the highlight (*) moved to the baseline, then clears the
  // screen and runs it (a chosen entry gets no "Booting" line; only the timeout prints one).
  t.ok(await until(() => text.includes(`*${BASELINE_ENTRY_TITLE}`), 60_000), 'the highlight moved to the baseline entry');
  const { ready, bootMs } = await m.waitForReady(READY_TIMEOUT_MS);
  t.equal(ready.hypervisor, null, 'the guest sees no hypervisor');
  t.equal(ready.vendor, 'GenuineIntel');
  t.same(m.hvLog, [], 'the hypervisor port stayed silent');
  t.notMatch(text, /Booting `tsx-hv/);
  t.comment(`Bochs baseline boot to agent ready: ${(bootMs / 1000).toFixed(1)} s`);
  const off = await m.powerOff();
  t.same(off, { code: 0, signal: null, method: 'agent' });
});
