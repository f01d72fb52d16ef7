import { BASELINE_SKU, CHAIN_SKU } from '../builder/grub.js';
import { UsageError } from '../errors.js';

/** QEMU binaries and firmware (Debian: qemu-system-x86, ovmf). */
export const QEMU_BINARY = 'qemu-system-x86_64';
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd';

/**
 * The SVM-capable CPU model for TCG (PLATFORM-FACTS.md): qemu64 has neither NPT nor RDTSCP
 * unless asked for; `max` would bring LA57.
 */
export const QEMU_CPU = 'qemu64,+svm,+npt,+rdtscp';

export interface QemuPaths {
  console: string;
  consoleLog: string;
  hv: string;
  hvLog: string;
  qmp: string;
  pidfile: string;
  /** Writable copy of the UEFI variable store (UEFI only). */
  uefiVars: string;
}

export interface QemuConfig {
  /** Boot media; null boots the first of `disks` (its own boot loader). */
  media: string | null;
  /** Disk images attached after the media, writable: the machine's own disks (raw or qcow2). */
  disks?: readonly string[];
  memory: string;
  cpus: number;
  /** false: boot the media's baseline entry (Linux without the hypervisor). */
  hypervisor: boolean;
  /**
   * The media's chain entry: the installed OS under the hypervisor (BIOS: the first disk's boot
   * sector; UEFI: the firmware's next boot option, the first disk).
   */
  chain?: boolean;
  firmware: 'bios' | 'uefi';
  /** Extra arguments appended verbatim (for experiments). */
  extraArgs?: readonly string[];
}

/** Accepts QEMU's size syntax: 512M, 2G, 1024 (MiB). */
export function checkMemory(memory: string): string {
  if (!/^[1-9][0-9]*[MG]?$/.test(memory)) throw new UsageError(`invalid memory size "${memory}"`, 'use a size such as 512M or 2G');
  const mib = memory.endsWith('G') ? Number(memory.slice(0, -1)) * 1024 : Number(memory.replace(/M$/, ''));
  if (mib < 128) throw new UsageError(`memory ${memory} is too small: the guest needs at least 128M`);
  return memory;
}

/** A -drive: `file` (file=,format=) and `rest` go either side of the interface options. */
interface Drive {
  file: string;
  rest: string;
  cd: boolean;
}

function mediaDrive(media: string): Drive {
  if (media.includes(',')) throw new UsageError(`the media path must not contain a comma: ${media}`);
  // An ISO is a CD; anything else is a raw disk image (e.g. what `tsx-hv flash` would write),
  // opened with snapshot=on so a run never modifies it.
  if (/\.iso$/i.test(media)) return { file: `file=${media},format=raw`, rest: ',media=cdrom,readonly=on', cd: true };
  return { file: `file=${media},format=raw`, rest: ',snapshot=on', cd: false };
}

/**
 * A machine's own disk: written to like a real disk (no snapshot), so what the guest changes
 * (grubenv after a one-time boot, logs) is there at the next boot. qcow2 by its extension, else raw.
 */
function diskDrive(disk: string): Drive {
  if (disk.includes(',')) throw new UsageError(`the disk path must not contain a comma: ${disk}`);
  return { file: `file=${disk},format=${/\.qcow2$/i.test(disk) ? 'qcow2' : 'raw'}`, rest: '', cd: false };
}

/** IDE has four places (two buses, master and slave); the media takes one of them. */
export const MAX_DISKS = 3;

/**
 * The drives, the media (if any) first. BIOS: `if=ide` in that order (the media is ide0 master,
 * BIOS drive 0x80 when it is a disk) and `-boot order` for SeaBIOS. UEFI: the same places, each
 * device with a bootindex (the media 0, then the disks in order), which QEMU hands OVMF as its
 * boot order (fw_cfg "bootorder"; OVMF does not read `-boot order`, and the two must not be
 * mixed). So the firmware's BootOrder is the media, then the first disk: what the media's UEFI
 * chain entry needs, as the firmware boots the next boot option once that entry returns. Without
 * bootindex OVMF tried QEMU's empty default DVD drive first.
 */
function driveArgs(media: string | null, disks: readonly string[], firmware: 'bios' | 'uefi'): string[] {
  const drives = [...(media === null ? [] : [mediaDrive(media)]), ...disks.map(diskDrive)];
  if (firmware === 'uefi') {
    return drives.flatMap(({ file, rest, cd }, i) => {
      const id = media === null ? `disk${i}` : i === 0 ? 'media' : `disk${i - 1}`;
      // The place `if=ide` gives the i-th drive: bus ide.(i/2), unit i%2.
      return ['-drive', `${file},if=none,id=${id}${rest}`, '-device', `${cd ? 'ide-cd' : 'ide-hd'},drive=${id},bus=ide.${i >> 1},unit=${i & 1},bootindex=${i}`];
    });
  }
  const args = drives.flatMap(({ file, rest }) => ['-drive', `${file},if=ide${rest}`]);
  return [...args, '-boot', `order=${drives[0]!.cd ? 'd' : 'c'}`];
}

/**
 * Every vCPU of a multi-CPU machine on one host thread. QEMU's multi-threaded TCG (the default
 * since 2.x for x86 on x86 hosts) has a data race that kills the hypervisor: every x87 state
 * restore (FXRSTOR, XRSTOR, FRSTOR, FLDENV) on *any* vCPU clears IGNNE in *vCPU 0's* hflags2
 * with a plain read-modify-write from its own host thread (`cpu_clear_ignne`,
 * target/i386/tcg/system/fpu_helper.c in QEMU 7.2 to 10.0). When that overlaps vCPU 0's #VMEXIT,
 * the stale value puts HF2_NPT_MASK back while vCPU 0 runs the hypervisor, QEMU walks the host's
 * page tables through the nested ones, where the hypervisor's memory is a scratch page, and the
 * host triple-faults (#PF 0x10 on the instruction after VMRUN, #DF, reset). A Linux guest does
 * FXRSTOR on every return to a process whose FPU state was switched out, so any busy
 * multi-CPU guest hits it sooner or later (docs/engines.md, "Multi-CPU machines"). One host
 * thread runs the vCPUs in turn and the writes never overlap. Real hardware has no such race.
 * An explicit `-accel` in the extra arguments (TSX_HV_QEMU_EXTRA_ARGS) replaces it.
 */
export const SINGLE_THREADED_TCG: readonly string[] = ['-accel', 'tcg,thread=single'];

export function qemuArgs(config: QemuConfig, paths: QemuPaths): string[] {
  const disks = config.disks ?? [];
  if (config.media === null && disks.length === 0) throw new UsageError('nothing to boot: no media and no disk');
  if (disks.length > (config.media === null ? MAX_DISKS + 1 : MAX_DISKS)) throw new UsageError(`at most ${MAX_DISKS} disks besides the media (IDE has four places)`);
  if (!Number.isInteger(config.cpus) || config.cpus < 1 || config.cpus > 64) throw new UsageError(`invalid CPU count ${config.cpus}`);
  const args = [
    '-name', 'tsx-hv',
    '-machine', 'pc',
    '-cpu', QEMU_CPU,
    '-m', checkMemory(config.memory),
    '-smp', String(config.cpus),
    '-display', 'none',
    '-monitor', 'none',
    // A reset (a triple fault of the hypervisor itself) ends the run instead of looping.
    '-no-reboot',
    // wait=on: QEMU starts the machine only once the host is connected, so no output is lost.
    '-chardev', `socket,id=console,path=${paths.console},server=on,wait=on,logfile=${paths.consoleLog}`,
    '-chardev', `socket,id=hvport,path=${paths.hv},server=on,wait=on,logfile=${paths.hvLog}`,
    '-serial', 'chardev:console',
    '-serial', 'chardev:hvport',
    '-qmp', `unix:${paths.qmp},server=on,wait=off`,
    '-pidfile', paths.pidfile,
    // The media first (drive 0x80 when it is a disk image); a disk-only machine boots its first disk.
    ...driveArgs(config.media, disks, config.firmware),
  ];
  if (config.firmware === 'uefi') {
    args.push('-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,file=${paths.uefiVars}`);
  }
  if (!config.hypervisor) args.push('-smbios', `type=1,sku=${BASELINE_SKU}`);
  else if (config.chain) args.push('-smbios', `type=1,sku=${CHAIN_SKU}`);
  const extra = config.extraArgs ?? [];
  if (config.cpus > 1 && !extra.includes('-accel')) args.push(...SINGLE_THREADED_TCG);
  return [...args, ...extra];
}
