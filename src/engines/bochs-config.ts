/**
 * The bochsrc of a tsx-hv machine under Bochs 2.7 (docs/engines.md), and the messages of Bochs
 * that tsx-hv reads back: pure functions, so what Bochs is told and how its answers are read are
 * unit-tested line by line.
 */
import { UsageError } from '../errors.js';
import type { CpuVendor, MachineExit } from './machine.js';
import { checkMemory } from './qemu-args.js';

/**
 * CPU models per vendor (PLATFORM-FACTS.md, "Bochs 2.7"): corei7_skylake_x has VMX with EPT,
 * unrestricted guest, the preemption timer and TSC scaling; ryzen has SVM with nested paging and
 * NRIP save.
 */
export const BOCHS_CPU_MODELS: Readonly<Record<CpuVendor, string>> = { intel: 'corei7_skylake_x', amd: 'ryzen' };

/**
 * Emulated instructions per second, which is also the rate of the guest's TSC: the guest's budget
 * of instructions per second of its own time. Bochs's time is not host time anyway (`slowdown`
 * only holds it back when it runs ahead, up to 1.5 times fast to catch up, and it falls behind
 * whenever it is busy), so tsx-hv measures guest speeds against the machine's own time (the
 * agent's `clock mark`, docs/engines.md), and the budget is chosen for the guest: at 60x Linux's
 * 250 Hz tick fires 15,000 times a machine second, two VM exits each (TSC-deadline write, EOI),
 * and with 50 million instructions a second Bochs's VMX exits ate it all (soft lockups, timer
 * interrupts at 5,500/s and nothing else running); with 200 million the guest keeps up (measured:
 * no soft lockup at 60x, ~1,500 exits per machine second). Bochs then runs flat out and its time
 * passes at a fraction of host time, which costs nothing: the boot is bound by instructions.
 */
export const DEFAULT_IPS = 200_000_000;
export const MIN_IPS = 1_000_000;
export const MAX_IPS = 4_000_000_000;
/** As QEMU's -smp limit (qemu-args.ts) and the scenario schema's MAX_CPUS. */
export const MAX_BOCHS_CPUS = 64;

export interface BochsConfig {
  /** Boot media: an ISO (a CD) or a raw disk image. */
  media: string;
  /** Guest memory in QEMU syntax (512M, 1G, 1024). */
  memory: string;
  cpus: number;
  cpuVendor: CpuVendor;
  ips: number;
  /** TCP port on localhost where Bochs serves COM1, the guest console. */
  consolePort: number;
  /** TCP port on localhost where Bochs serves COM2, the hypervisor's log and control port. */
  hvPort: number;
  /** Bochs' log file. */
  log: string;
  /** The system BIOS and VGA BIOS images (the doctor catalog's bochsbios and vgabios). */
  bios: string;
  vgaBios: string;
  /** Where Bochs keeps a raw disk's writes (the image itself is never changed); unused for an ISO. */
  journal: string;
  /** Extra bochsrc lines (experiments), appended last. */
  extraLines?: readonly string[];
}

/** Megabytes for `megs:` from QEMU's size syntax. */
export function memoryMegabytes(memory: string): number {
  checkMemory(memory);
  return memory.endsWith('G') ? Number(memory.slice(0, -1)) * 1024 : Number(memory.replace(/M$/, ''));
}

/** Checks `--ips`: a whole number of instructions per second Bochs can be asked for. */
export function checkIps(ips: number): number {
  if (!Number.isInteger(ips) || ips < MIN_IPS || ips > MAX_IPS) {
    throw new UsageError(`invalid instructions per second ${ips}`, `give a whole number from ${MIN_IPS} to ${MAX_IPS} (default ${DEFAULT_IPS})`);
  }
  return ips;
}

/** bochsrc values are split at commas and blanks and cannot be quoted reliably: refuse such paths. */
function checkPath(what: string, path: string): string {
  if (/[\s,"'#]/.test(path)) throw new UsageError(`the ${what} path must not contain blanks, commas, quotes or '#' for Bochs: ${path}`, 'move or link the file to a plain path');
  return path;
}

function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`invalid TCP port ${port}`);
  return port;
}

function mediaLines(config: BochsConfig): string[] {
  const media = checkPath('media', config.media);
  if (/\.iso$/i.test(media)) return [`ata0-master: type=cdrom, path=${media}, status=inserted`, 'boot: cdrom'];
  // A raw disk image (what `tsx-hv flash` writes): volatile, so a run never modifies it.
  return [`ata0-master: type=disk, path=${media}, mode=volatile, journal=${checkPath('journal', config.journal)}`, 'boot: disk'];
}

/** The bochsrc text for `config`. */
export function renderBochsrc(config: BochsConfig): string {
  if (!Number.isInteger(config.cpus) || config.cpus < 1 || config.cpus > MAX_BOCHS_CPUS) throw new UsageError(`invalid CPU count ${config.cpus}`, `Bochs machines have 1 to ${MAX_BOCHS_CPUS} CPUs`);
  const model = BOCHS_CPU_MODELS[config.cpuVendor];
  if (!model) throw new UsageError(`unknown CPU vendor "${String(config.cpuVendor)}"`, 'use intel (VT-x) or amd (SVM)');
  const lines = [
    '# tsx-hv machine for Bochs 2.7 (src/engines/bochs-config.ts, docs/engines.md)',
    `megs: ${memoryMegabytes(config.memory)}`,
    `romimage: file=${checkPath('BIOS', config.bios)}`,
    `vgaromimage: file=${checkPath('VGA BIOS', config.vgaBios)}`,
    // A triple fault (of the hypervisor itself) ends the run through the fatal panic instead of
    // resetting into the firmware: QEMU's -no-reboot.
    `cpu: model=${model}, count=${config.cpus}, ips=${checkIps(config.ips)}, reset_on_triple_fault=0`,
    // slowdown: Bochs never runs ahead of host time, so the guest's time follows host time as
    // long as Bochs keeps up with ips (tsx-hv measures the guest against host time).
    'clock: sync=slowdown, time0=local',
    // The PIIX4 power management of the i440FX chipset is what ACPI soft power-off writes to.
    'pci: enabled=1, chipset=i440fx',
    // Debian's Bochs has no headless display: an RFB (VNC) server that does not wait for a
    // viewer. Keys are typed through it (src/engines/rfb.ts).
    'display_library: rfb, options="timeout=0"',
    // Ctrl, Alt, F10 and F12 must reach the guest: the mouse toggle only on Ctrl + middle button.
    'mouse: enabled=0, toggle=ctrl+mbutton',
    'sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy',
    'speaker: enabled=0',
    'panic: action=fatal',
    'error: action=report',
    `log: ${checkPath('log', config.log)}`,
    ...mediaLines(config),
    // Bochs waits at start-up until a client has connected to COM1 and then COM2, so no output
    // is lost; it writes to the sockets unbuffered.
    `com1: enabled=1, mode=socket-server, dev=localhost:${checkPort(config.consolePort)}`,
    `com2: enabled=1, mode=socket-server, dev=localhost:${checkPort(config.hvPort)}`,
    ...(config.extraLines ?? []),
  ];
  return lines.join('\n') + '\n';
}

/**
 * Commands for Bochs' built-in debugger (Debian builds it in), given with `-rc`: continue.
 * Without them the debugger stops before the first instruction and reads its prompt from stdin,
 * where end of file quits Bochs.
 */
export const BOCHS_DEBUGGER_COMMANDS = 'c\n';

/** What Bochs 2.7 says when it cannot listen on a serial port's TCP address, e.g. one still in TIME_WAIT. */
const BIND_FAILED = /bind\(\) or listen\(\) failed/;
/** Bochs' RFB server takes the first free port from 5900 and logs it. */
const RFB_LISTENING = /RFB\s*\]\s*listening for connections on port (\d+)/;

/** True when Bochs' output says it could not listen on a serial port's TCP address. */
export function bindFailed(output: string): boolean {
  return BIND_FAILED.test(output);
}

/**
 * Bochs ends an ACPI soft power-off as a fatal panic: exit status 1, with ">>PANIC<< ACPI
 * control: soft power off" in its log. That is the machine powering off cleanly (status 0, as
 * QEMU reports it); any other panic keeps status 1.
 */
export function interpretBochsExit(exit: MachineExit, log: string): MachineExit {
  if (exit.code !== 1) return exit;
  const panics = log.split('\n').filter((l) => l.includes('>>PANIC<<'));
  return panics.length > 0 && panics.every((l) => l.includes('ACPI control: soft power off')) ? { code: 0, signal: null } : exit;
}

/** The RFB port Bochs logged, or undefined while it has not. */
export function rfbPortFromLog(log: string): number | undefined {
  const m = RFB_LISTENING.exec(log);
  return m ? Number(m[1]) : undefined;
}
