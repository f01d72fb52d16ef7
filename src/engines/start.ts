import { buildLayout } from '../builder/layout.js';
import { UsageError } from '../errors.js';
import { startBochs } from './bochs.js';
import { checkIps } from './bochs-config.js';
import { CPU_VENDORS, ENGINES, type EngineMachine, type MachineOptions } from './machine.js';
import { startQemu } from './qemu.js';

/**
 * Refuses options the chosen engine cannot honour: QEMU TCG emulates AMD SVM only and has no
 * instruction rate; Bochs has no UEFI firmware. Chain boot runs under either firmware.
 */
export function checkMachineOptions(opts: MachineOptions): void {
  const engine = opts.engine ?? 'qemu';
  if (!ENGINES.includes(engine)) throw new UsageError(`unknown engine "${String(engine)}"`, `engines: ${ENGINES.join(', ')}`);
  if (opts.boot === 'disk' && !opts.disks?.length) throw new UsageError('booting from disk needs a disk', 'add --disk FILE');
  if (opts.boot === 'disk' && opts.media !== undefined) throw new UsageError('a machine that boots its disk has no media', 'drop --media, or boot the media with the disk attached');
  if (opts.boot === 'chain') {
    if (!opts.disks?.length) throw new UsageError('chain boot starts an installed OS from a disk: there is none', 'add --disk FILE');
    if (opts.hypervisor === false) throw new UsageError('chain boot is the hypervisor\'s: it cannot run without it', 'drop --no-hypervisor, or use --boot-disk');
    // UEFI too: the media's UEFI chain entry starts tsx-hv-efi.elf, and the firmware then boots
    // its next boot option, the first disk (qemu-args.ts gives the media bootindex 0, the disk 1).
  }
  if (opts.cpuVendor !== undefined && !CPU_VENDORS.includes(opts.cpuVendor)) throw new UsageError(`unknown CPU vendor "${String(opts.cpuVendor)}"`, `vendors: ${CPU_VENDORS.join(', ')}`);
  if (engine === 'qemu') {
    if (opts.cpuVendor === 'intel') throw new UsageError('QEMU TCG emulates AMD SVM only: there is no Intel VT-x CPU under --engine qemu', 'use --engine bochs for VT-x');
    if (opts.ips !== undefined) throw new UsageError('--ips sets the instruction rate of Bochs; QEMU TCG has none', 'drop --ips, or use --engine bochs');
  } else {
    if (opts.disks?.length || opts.boot === 'disk') throw new UsageError('the Bochs engine takes no disk images yet', 'use --engine qemu for --disk');
    if (opts.ips !== undefined) checkIps(opts.ips);
    if ((opts.firmware ?? 'bios') !== 'bios') throw new UsageError('Bochs boots with its BIOS only', 'drop --uefi, or use --engine qemu for UEFI');
  }
}

/** Boots media in an engine (QEMU TCG by default, or Bochs) and returns the running machine. */
export async function startMachine(opts: MachineOptions = {}): Promise<EngineMachine> {
  checkMachineOptions(opts);
  if (opts.boot === 'disk') return startQemu({ ...opts, media: null });
  const media = opts.media ?? buildLayout().iso;
  return (opts.engine ?? 'qemu') === 'bochs' ? startBochs({ ...opts, media }) : startQemu({ ...opts, media });
}
