import { dirname } from 'node:path';
import type { Command } from 'commander';
import { netboot, type NetbootResult } from '../fleet/netboot.js';
import type { Register } from './main.js';
import type { Output } from './output.js';
import { interruptOnSignals } from './interrupt.js';

interface NetbootFlags {
  interface: string;
  server: string;
  dhcpRange?: string;
  out?: string;
  buildDir?: string;
  dryRun?: boolean;
}

function printNetboot(out: Output, r: NetbootResult): void {
  const mode = r.mode === 'proxy'
    ? `proxy-DHCP beside the network's DHCP server on ${r.subnet.network}/${r.subnet.prefixLength}`
    : `DHCP for ${r.range!.start} to ${r.range!.end} (no router, no DNS)`;
  out.info(`${r.dryRun ? 'would write' : 'wrote'} the netboot tree for ${r.interface}, this host ${r.subnet.address}: ${mode}`);
  out.info(`  tftp root    ${r.tftpRoot}`);
  out.info(`  BIOS         ${r.bootFiles[1]} (GRUB, i386-pc-pxe)`);
  out.info(`  UEFI         ${r.bootFiles[2]} (GRUB, x86_64-efi)`);
  out.info(`  iPXE         ${r.bootFiles[0]} (iPXE clients, either firmware)`);
  out.info(`  media        ${r.bootFiles.slice(3).join(', ')} (from ${dirname(dirname(r.sources.grubCfg))})`);
  out.info(`  dnsmasq      ${r.dnsmasqConf}`);
  if (r.dryRun) {
    out.info('');
    out.info(r.dnsmasqConfText.trimEnd());
  }
  out.info('');
  out.info(`start it (as root): ${r.command.join(' ')}`);
}

export const registerFleet: Register = (program: Command, output: () => Output) => {
  const fleet = program
    .command('fleet')
    .description('run tsx-hv on many machines: boot them over the network')
    .addHelpText('after', '\nExamples:\n  $ tsx-hv fleet netboot --interface eno1 --server 192.168.50.1/24\n  $ tsx-hv fleet netboot --help');
  fleet
    .command('netboot')
    .description('render a TFTP tree (GRUB for BIOS and UEFI, an iPXE script, the built hypervisor, kernel and initrd) and a dnsmasq.conf that boot the tsx-hv media over the network')
    .requiredOption('--interface <name>', 'the lab network\'s interface that dnsmasq serves')
    .requiredOption('--server <address/prefix>', 'this host\'s address on that interface with the prefix length, e.g. 192.168.50.1/24 (the TFTP server)')
    .option('--dhcp-range <start-end>', 'hand out these addresses (an isolated lab network without a DHCP server); default: proxy-DHCP beside the existing DHCP server')
    .option('--out <dir>', 'where to write tftp/ and dnsmasq.conf (default: build/netboot)')
    .option('--build-dir <dir>', 'where `tsx-hv build` put the media\'s files (default: build/ in the package)')
    .option('--dry-run', 'check and print the configuration; write nothing')
    .addHelpText(
      'after',
      `
Examples:
  $ tsx-hv fleet netboot --interface eno1 --server 192.168.50.1/24
  $ tsx-hv fleet netboot --interface lab0 --server 10.77.0.1/24 --dhcp-range 10.77.0.100-10.77.0.199
  $ tsx-hv fleet netboot --interface eno1 --server 192.168.50.1/24 --dry-run --json

Without --dhcp-range, dnsmasq answers only PXE clients (proxy-DHCP): the network's own DHCP
server keeps handing out addresses. Details: docs/fleet.md.`,
    )
    .action(async (flags: NetbootFlags) => {
      const out = output();
      const interrupt = interruptOnSignals(process.stderr, 'stopping the netboot tree\'s step and removing its partial copy');
      const result = await netboot({ ...flags, signal: interrupt.signal }).finally(interrupt.dispose);
      for (const w of result.warnings) out.warn(w);
      if (out.json) out.document(result);
      printNetboot(out, result);
    });
};
