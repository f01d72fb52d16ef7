import { BASELINE_SKU } from '../builder/grub.js';
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
  media: string;
  memory: string;
  cpus: number;
  /** false: boot the media's baseline entry (Linux without the hypervisor). */
  hypervisor: boolean;
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

function mediaDrive(media: string): string[] {
  if (media.includes(',')) throw new UsageError(`the media path must not contain a comma: ${media}`);
  // An ISO is a CD; anything else is a raw disk image (e.g. what `tsx-hv flash` would write),
  // opened with snapshot=on so a run never modifies it.
  if (/\.iso$/i.test(media)) return ['-drive', `file=${media},format=raw,if=ide,media=cdrom,readonly=on`, '-boot', 'order=d'];
  return ['-drive', `file=${media},format=raw,if=ide,snapshot=on`, '-boot', 'order=c'];
}

export function qemuArgs(config: QemuConfig, paths: QemuPaths): string[] {
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
    ...mediaDrive(config.media),
  ];
  if (config.firmware === 'uefi') {
    args.push('-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,file=${paths.uefiVars}`);
  }
  if (!config.hypervisor) args.push('-smbios', `type=1,sku=${BASELINE_SKU}`);
  return [...args, ...(config.extraArgs ?? [])];
}
