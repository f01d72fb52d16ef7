import t from 'tap';
import { QEMU_CPU, checkMemory, qemuArgs, type QemuPaths } from '../../../src/engines/qemu-args.js';
import { UsageError } from '../../../src/errors.js';

const paths: QemuPaths = { console: '/w/c.sock', consoleLog: '/w/c.log', hv: '/w/h.sock', hvLog: '/w/h.log', qmp: '/w/q.sock', pidfile: '/w/pid', uefiVars: '/w/vars.fd' };
const base = { media: '/m/tsx-hv.iso', memory: '512M', cpus: 1, hypervisor: true, firmware: 'bios' as const };

function after(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

t.test('the contract machine: pc, SVM CPU model, TCG, no display, COM1 console, COM2 hypervisor port, QMP', async (t) => {
  const a = qemuArgs(base, paths);
  t.same(after(a, '-machine'), ['pc']);
  t.same(after(a, '-cpu'), [QEMU_CPU]);
  t.equal(QEMU_CPU, 'qemu64,+svm,+npt,+rdtscp');
  t.same(after(a, '-m'), ['512M']);
  t.same(after(a, '-display'), ['none']);
  t.same(after(a, '-serial'), ['chardev:console', 'chardev:hvport'], 'console first (COM1), then the hypervisor port (COM2)');
  const chardevs = after(a, '-chardev');
  t.match(chardevs[0], /^socket,id=console,path=\/w\/c\.sock,server=on,wait=on,logfile=\/w\/c\.log$/);
  t.match(chardevs[1], /^socket,id=hvport,path=\/w\/h\.sock,server=on,wait=on,logfile=\/w\/h\.log$/);
  t.same(after(a, '-qmp'), ['unix:/w/q.sock,server=on,wait=off']);
  t.match(after(a, '-drive')[0], /file=\/m\/tsx-hv\.iso,.*media=cdrom,readonly=on/);
  t.notOk(a.includes('-smbios'), 'the default entry (hypervisor) needs no selection');
  t.notOk(a.includes('-enable-kvm'));
});

t.test('baseline, UEFI, disk images and extra arguments', async (t) => {
  const a = qemuArgs({ ...base, hypervisor: false, firmware: 'uefi', media: '/m/disk.img', extraArgs: ['-d', 'int'] }, paths);
  t.same(after(a, '-smbios'), ['type=1,sku=tsx-hv:baseline']);
  const drives = after(a, '-drive');
  t.match(drives[0], /file=\/m\/disk\.img,format=raw,if=none,id=media,snapshot=on/);
  t.match(drives[1], /if=pflash,.*readonly=on,file=\/usr\/share\/OVMF\/OVMF_CODE\.fd/);
  t.match(drives[2], /if=pflash,format=raw,file=\/w\/vars\.fd/);
  t.same(a.slice(-2), ['-d', 'int']);
});

t.test('a machine\'s own disks: writable, after the media; without media the first disk boots', async (t) => {
  const a = qemuArgs({ ...base, disks: ['/d/debian.raw', '/d/data.qcow2'] }, paths);
  t.same(after(a, '-drive').slice(1), ['file=/d/debian.raw,format=raw,if=ide', 'file=/d/data.qcow2,format=qcow2,if=ide'], 'no snapshot: what the guest writes stays');
  t.same(after(a, '-boot'), ['order=d'], 'the media still boots');
  const b = qemuArgs({ ...base, media: null, disks: ['/d/debian.raw'] }, paths);
  t.same(after(b, '-drive'), ['file=/d/debian.raw,format=raw,if=ide']);
  t.same(after(b, '-boot'), ['order=c']);
  t.throws(() => qemuArgs({ ...base, media: null }, paths), /nothing to boot/);
  t.throws(() => qemuArgs({ ...base, disks: ['/1', '/2', '/3', '/4'] }, paths), /at most 3 disks/);
  t.doesNotThrow(() => qemuArgs({ ...base, media: null, disks: ['/1', '/2', '/3', '/4'] }, paths), 'without media all four IDE places are disks');
  t.throws(() => qemuArgs({ ...base, disks: ['/d/a,b.raw'] }, paths), /disk path must not contain a comma/);
});

t.test('UEFI: the media then the disks in the boot order (bootindex), at the places if=ide gives them; the chain SKU', async (t) => {
  const a = qemuArgs({ ...base, firmware: 'uefi', chain: true, media: '/m/stick.img', disks: ['/d/debian.raw', '/d/data.qcow2', '/d/c.raw'] }, paths);
  t.same(after(a, '-drive').slice(0, 4), ['file=/m/stick.img,format=raw,if=none,id=media,snapshot=on', 'file=/d/debian.raw,format=raw,if=none,id=disk0', 'file=/d/data.qcow2,format=qcow2,if=none,id=disk1', 'file=/d/c.raw,format=raw,if=none,id=disk2']);
  t.same(after(a, '-device'), [
    'ide-hd,drive=media,bus=ide.0,unit=0,bootindex=0',
    'ide-hd,drive=disk0,bus=ide.0,unit=1,bootindex=1',
    'ide-hd,drive=disk1,bus=ide.1,unit=0,bootindex=2',
    'ide-hd,drive=disk2,bus=ide.1,unit=1,bootindex=3',
  ], 'the stick first, the installed disk second: the firmware boots it when the chain entry returns');
  t.notOk(a.includes('-boot'), 'no -boot order beside bootindex');
  t.same(after(a, '-smbios'), ['type=1,sku=tsx-hv:chain']);
  const cd = qemuArgs({ ...base, firmware: 'uefi', disks: ['/d/debian.raw'] }, paths);
  t.match(after(cd, '-drive')[0], 'file=/m/tsx-hv.iso,format=raw,if=none,id=media,media=cdrom,readonly=on');
  t.same(after(cd, '-device'), ['ide-cd,drive=media,bus=ide.0,unit=0,bootindex=0', 'ide-hd,drive=disk0,bus=ide.0,unit=1,bootindex=1']);
  const diskOnly = qemuArgs({ ...base, firmware: 'uefi', media: null, disks: ['/d/debian.raw'] }, paths);
  t.same(after(diskOnly, '-device'), ['ide-hd,drive=disk0,bus=ide.0,unit=0,bootindex=0']);
  const bios = qemuArgs({ ...base, chain: true, media: '/m/stick.img', disks: ['/d/debian.raw'] }, paths);
  t.same(after(bios, '-drive'), ['file=/m/stick.img,format=raw,if=ide,snapshot=on', 'file=/d/debian.raw,format=raw,if=ide'], 'BIOS: if=ide as before (the stick is drive 0x80)');
  t.same(after(bios, '-boot'), ['order=c']);
  t.notOk(bios.includes('-device'));
});

t.test('refuses bad sizes, CPU counts and media paths', async (t) => {
  t.equal(checkMemory('2G'), '2G');
  t.equal(checkMemory('1024'), '1024');
  for (const m of ['0', '64M', '512K', 'lots', '-1G']) t.throws(() => checkMemory(m), UsageError, m);
  for (const cpus of [0, 1.5, 65]) t.throws(() => qemuArgs({ ...base, cpus }, paths), UsageError);
  t.throws(() => qemuArgs({ ...base, media: '/m/a,b.iso' }, paths), /comma/);
});

t.test('multi-CPU machines run single-threaded TCG (the cpu_clear_ignne race of multi-threaded TCG); an explicit -accel replaces it', async (t) => {
  t.same(after(qemuArgs(base, paths), '-accel'), [], 'one CPU: QEMU\'s default');
  t.same(after(qemuArgs({ ...base, cpus: 4 }, paths), '-accel'), ['tcg,thread=single']);
  t.same(after(qemuArgs({ ...base, cpus: 2, hypervisor: false }, paths), '-accel'), ['tcg,thread=single'], 'a disk\'s own boot entry may start the hypervisor too');
  t.same(after(qemuArgs({ ...base, cpus: 2, extraArgs: ['-accel', 'tcg,thread=multi'] }, paths), '-accel'), ['tcg,thread=multi']);
});
