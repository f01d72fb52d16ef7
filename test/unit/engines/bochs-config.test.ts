import t from 'tap';
import {
  BOCHS_CPU_MODELS,
  BOCHS_DEBUGGER_COMMANDS,
  DEFAULT_IPS,
  bindFailed,
  checkIps,
  interpretBochsExit,
  memoryMegabytes,
  renderBochsrc,
  rfbPortFromLog,
  type BochsConfig,
} from '../../../src/engines/bochs-config.js';
import { UsageError } from '../../../src/errors.js';

const base: BochsConfig = {
  media: '/m/tsx-hv.iso',
  memory: '512M',
  cpus: 1,
  cpuVendor: 'intel',
  ips: DEFAULT_IPS,
  consolePort: 40001,
  hvPort: 40002,
  log: '/w/bochs.log',
  bios: '/usr/share/bochs/BIOS-bochs-latest',
  vgaBios: '/usr/share/bochs/VGABIOS-lgpl-latest',
  journal: '/w/disk.journal',
};

/** The bochsrc as `key: value` pairs (comments dropped; every key appears once). */
function parse(text: string): Map<string, string> {
  const entries = text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as [string, string]);
  const map = new Map(entries);
  if (map.size !== entries.length) throw new Error(`a key appears twice:\n${text}`);
  return map;
}

t.test('the default machine: VT-x model, 512 MB, slowdown clock, headless RFB, COM1 console and COM2 hypervisor port on localhost', async (t) => {
  const rc = parse(renderBochsrc(base));
  t.equal(rc.get('megs'), '512');
  t.equal(rc.get('cpu'), 'model=corei7_skylake_x, count=1, ips=200000000, reset_on_triple_fault=0');
  t.equal(rc.get('clock'), 'sync=slowdown, time0=local');
  t.equal(rc.get('display_library'), 'rfb, options="timeout=0"');
  t.equal(rc.get('mouse'), 'enabled=0, toggle=ctrl+mbutton', 'Ctrl, Alt, F10 and F12 are not swallowed by the mouse toggle');
  t.equal(rc.get('sound'), 'waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy');
  t.equal(rc.get('speaker'), 'enabled=0');
  t.equal(rc.get('panic'), 'action=fatal');
  t.equal(rc.get('error'), 'action=report');
  t.equal(rc.get('log'), '/w/bochs.log');
  t.equal(rc.get('pci'), 'enabled=1, chipset=i440fx');
  t.equal(rc.get('romimage'), 'file=/usr/share/bochs/BIOS-bochs-latest');
  t.equal(rc.get('vgaromimage'), 'file=/usr/share/bochs/VGABIOS-lgpl-latest');
  t.equal(rc.get('ata0-master'), 'type=cdrom, path=/m/tsx-hv.iso, status=inserted');
  t.equal(rc.get('boot'), 'cdrom');
  t.equal(rc.get('com1'), 'enabled=1, mode=socket-server, dev=localhost:40001');
  t.equal(rc.get('com2'), 'enabled=1, mode=socket-server, dev=localhost:40002');
  t.equal(BOCHS_DEBUGGER_COMMANDS, 'c\n', 'the debugger continues at once');
});

t.test('vendor, CPUs, memory in QEMU syntax and the instruction rate', async (t) => {
  t.same(BOCHS_CPU_MODELS, { intel: 'corei7_skylake_x', amd: 'ryzen' });
  const rc = parse(renderBochsrc({ ...base, cpuVendor: 'amd', cpus: 2, memory: '1G', ips: 30_000_000 }));
  t.equal(rc.get('cpu'), 'model=ryzen, count=2, ips=30000000, reset_on_triple_fault=0');
  t.equal(rc.get('megs'), '1024');
  t.equal(memoryMegabytes('2G'), 2048);
  t.equal(memoryMegabytes('768M'), 768);
  t.equal(memoryMegabytes('1024'), 1024, 'a bare number is MiB, as for QEMU');
});

t.test('a raw disk image boots as a volatile disk: the image is never written', async (t) => {
  const rc = parse(renderBochsrc({ ...base, media: '/m/stick.img' }));
  t.equal(rc.get('ata0-master'), 'type=disk, path=/m/stick.img, mode=volatile, journal=/w/disk.journal');
  t.equal(rc.get('boot'), 'disk');
});

t.test('extra lines come last, so they can override', async (t) => {
  const text = renderBochsrc({ ...base, extraLines: ['debug: action=report'] });
  t.equal(text.trimEnd().split('\n').at(-1), 'debug: action=report');
});

t.test('refuses what Bochs would misread or reject', async (t) => {
  for (const cpus of [0, 1.5, 65]) t.throws(() => renderBochsrc({ ...base, cpus }), UsageError, `cpus ${cpus}`);
  t.throws(() => renderBochsrc({ ...base, memory: '64M' }), /too small/);
  t.throws(() => renderBochsrc({ ...base, memory: 'lots' }), /invalid memory size/);
  t.throws(() => renderBochsrc({ ...base, cpuVendor: 'via' as 'intel' }), /unknown CPU vendor "via"/);
  for (const media of ['/m/a b.iso', '/m/a,b.iso', '/m/"x".iso', '/m/#1.iso']) t.throws(() => renderBochsrc({ ...base, media }), /must not contain blanks, commas, quotes or '#'/, media);
  t.throws(() => renderBochsrc({ ...base, log: '/w w/bochs.log' }), /the log path/);
  for (const consolePort of [0, 70000, 1.5]) t.throws(() => renderBochsrc({ ...base, consolePort }), /invalid TCP port/);
  for (const ips of [999_999, 4_000_000_001, 5e7 + 0.5]) t.throws(() => checkIps(ips), /invalid instructions per second/);
  t.equal(checkIps(1_000_000), 1_000_000);
  t.throws(() => renderBochsrc({ ...base, ips: 10 }), UsageError);
});

t.test('reads the RFB port and a failed bind from what Bochs says', async (t) => {
  const log = '00000000000i[RFB   ] Trying port 5900\n00000000000i[RFB   ] listening for connections on port 5901\n';
  t.equal(rfbPortFromLog(log), 5901);
  t.equal(rfbPortFromLog('00000000000i[RFB   ] Trying port 5900\n'), undefined);
  t.ok(bindFailed('00000000000p[SER   ] >>PANIC<< com1: bind() or listen() failed (host:localhost, port:18911)'));
  t.notOk(bindFailed('com1: waiting for client to connect (host:localhost, port:18911)'));
});

t.test('an ACPI soft power-off is a clean exit; any other panic is not', async (t) => {
  const off = '07240192002p[ACPI  ] >>PANIC<< ACPI control: soft power off\n07240192002i[SIM   ] quit_sim called with exit code 1\n';
  t.same(interpretBochsExit({ code: 1, signal: null }, off), { code: 0, signal: null });
  t.same(interpretBochsExit({ code: 1, signal: null }, `${off}00000000000p[CPU0  ] >>PANIC<< exception(): 3rd (13) exception with no resolution\n`), { code: 1, signal: null });
  t.same(interpretBochsExit({ code: 1, signal: null }, 'nothing logged'), { code: 1, signal: null });
  t.same(interpretBochsExit({ code: null, signal: 'SIGKILL' }, off), { code: null, signal: 'SIGKILL' }, 'a killed Bochs stays killed');
  t.same(interpretBochsExit({ code: 0, signal: null }, ''), { code: 0, signal: null });
});
