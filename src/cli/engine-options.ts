import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { DEFAULT_IPS } from '../engines/bochs-config.js';
import { CPU_VENDORS, ENGINES, type CpuVendor, type EngineName } from '../engines/machine.js';
import { checkMachineOptions } from '../engines/start.js';

/** The flags `run` and `test` share to choose where the machine runs. */
export interface EngineFlags {
  engine?: string;
  cpu?: string;
  ips?: string;
  disk?: string[];
  bootDisk?: boolean;
  bootChain?: boolean;
}

export interface EngineChoice {
  engine: EngineName;
  cpuVendor?: CpuVendor;
  ips?: number;
  disks?: string[];
  boot?: 'media' | 'disk' | 'chain';
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Adds --engine, --cpu and --ips to a command. */
export function addEngineOptions(command: Command): Command {
  return command
    .addOption(new Option('--engine <name>', 'where the machine runs: qemu (TCG, AMD SVM) or bochs (Intel VT-x or AMD SVM)').choices(ENGINES as string[]))
    .addOption(new Option('--cpu <vendor>', 'with --engine bochs: the CPU model\'s vendor, intel (VT-x, default) or amd (SVM)').choices(CPU_VENDORS as string[]))
    .addOption(new Option('--ips <n>', `with --engine bochs: emulated instructions per second, the guest's TSC rate (default ${DEFAULT_IPS})`))
    .addOption(new Option('--disk <file>', 'attach a disk image (raw or .qcow2) as the machine\'s own disk, writable (repeatable; QEMU)').argParser(collect))
    .addOption(new Option('--boot-disk', 'boot the first --disk\'s own boot loader instead of the tsx-hv media (e.g. an installed system provisioned with --hypervisor)').conflicts('bootChain'))
    .addOption(new Option('--boot-chain', 'boot the media\'s chain entry: the installed OS on the first --disk starts underneath the hypervisor (BIOS: its boot sector; with --uefi: the firmware\'s next boot option)'));
}

/** The engine the flags ask for, refused (exit 2) when the engine cannot honour them. */
export function engineChoice(flags: EngineFlags): EngineChoice {
  const choice: EngineChoice = { engine: (flags.engine ?? 'qemu') as EngineName };
  if (flags.cpu !== undefined) choice.cpuVendor = flags.cpu as CpuVendor;
  if (flags.disk?.length) choice.disks = flags.disk;
  if (flags.bootDisk) choice.boot = 'disk';
  if (flags.bootChain) choice.boot = 'chain';
  if (flags.ips !== undefined) {
    const ips = Number(flags.ips);
    if (!/^[0-9]+$/.test(flags.ips) || !Number.isSafeInteger(ips)) throw new UsageError(`--ips must be a whole number of instructions per second, not "${flags.ips}"`);
    choice.ips = ips;
  }
  checkMachineOptions(choice);
  return choice;
}
