import { writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Option, type Command } from 'commander';
import { netboot, type NetbootResult } from '../fleet/netboot.js';
import { fleetPlan, fleetRollback, fleetRollout, fleetStatus, type FleetOptions, type FleetReport } from '../fleet/fleet.js';
import type { AnsibleEvent } from '../fleet/ansible.js';
import { counts, fleetJunit, summaryTable } from '../fleet/report.js';
import { parseMaxFail, parseWaves } from '../fleet/waves.js';
import { UsageError } from '../errors.js';
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

interface CommonFlags {
  inventory: string;
  limit?: string;
  forks?: string;
  extraVars: string[];
  log?: string;
  journal?: string;
  junit?: string;
}

interface RolloutFlags extends CommonFlags {
  waves?: string;
  maxFail?: string;
  restart?: boolean;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function withCommon(cmd: Command, journal: boolean): Command {
  cmd
    .requiredOption('--inventory <file>', 'an Ansible inventory (INI or YAML file, or a directory): hosts, groups, host vars')
    .option('--limit <pattern>', 'only these hosts: an Ansible host pattern (lab1,lab2 or rack3 or lab:!lab7); every name must exist')
    .option('--forks <n>', 'hosts Ansible works on at the same time (ansible-playbook --forks)')
    .addOption(new Option('-e, --extra-vars <vars>', 'role variables for ansible-playbook -e (KEY=VALUE, JSON or @FILE; repeatable): tsx_hv_health_speed, tsx_hv_append, ... (docs/fleet.md)').argParser(collect).default([]))
    .option('--log <file>', "Ansible's own output (default: beside the inventory, INVENTORY.tsx-hv-ansible.log)")
    .option('--junit <file>', 'also write a JUnit report: one test case per host');
  if (journal) cmd.option('--journal <file>', 'the rollout journal (default: beside the inventory, INVENTORY.tsx-hv-journal.ndjson)');
  return cmd;
}

function fleetOptions(f: CommonFlags, out: Output, signal: AbortSignal): FleetOptions {
  let forks: number | undefined;
  if (f.forks !== undefined) {
    forks = Number(f.forks);
    if (!Number.isInteger(forks) || forks < 1) throw new UsageError(`--forks "${f.forks}" is not a whole number of 1 or more`);
  }
  return {
    inventory: f.inventory,
    limit: f.limit,
    forks,
    extraVars: f.extraVars,
    log: f.log,
    echo: out.opts.verbose ? process.stderr : undefined,
    onEvent: (e) => progress(out, e),
    signal,
  };
}

/** Live progress: one line per host and step (human), or the event itself (NDJSON with --json). */
function progress(out: Output, e: AnsibleEvent): void {
  if (out.json) {
    if (e.event === 'step' || e.event === 'result') out.event(e);
    return;
  }
  if (e.event === 'play' && typeof e.wave === 'number') out.info(`wave ${e.wave}`);
  if (e.event === 'step' && e.status !== 'skipped' && !['connection', 'wave', 'group by state', 'health scenario', 'health scenario written', 'scenario file removed', 'health figures', 'failed step', 'state'].includes(e.step ?? '')) {
    const status = e.status === 'failed' || e.status === 'unreachable' ? out.bad(e.status) : e.status!;
    const took = typeof e.duration_s === 'number' ? ` (${e.duration_s.toFixed(1)} s)` : '';
    out.info(`  ${e.host}  ${e.step}  ${status}${took}${e.msg ? `: ${e.msg.split('\n')[0]}` : ''}`);
  }
}

async function finish(out: Output, r: FleetReport, junit?: string): Promise<void> {
  if (junit) await writeFile(junit, fleetJunit(r));
  if (out.json) out.event({ event: 'summary', ...r });
  else {
    out.info('');
    out.info(summaryTable(r));
    out.info('');
    const tail = r.stopped ? '; stopped before its last wave (--max-fail)' : '';
    out.info(`${r.command}: ${counts(r)} in ${r.durationS.toFixed(0)} s${tail}${r.journal ? `; journal ${r.journal}` : ''}; Ansible's output: ${r.log}`);
  }
  out.exitCode = r.exitCode;
}

export const registerFleet: Register = (program: Command, output: () => Output) => {
  const fleet = program
    .command('fleet')
    .description('run tsx-hv on many machines: roll it out with Ansible in waves, check, roll back; boot them over the network')
    .addHelpText(
      'after',
      `
Examples:
  $ tsx-hv fleet plan --inventory lab.ini
  $ tsx-hv fleet rollout --inventory lab.ini --junit rollout.xml
  $ tsx-hv fleet status --inventory lab.ini
  $ tsx-hv fleet rollback --inventory lab.ini --limit rack3
  $ tsx-hv fleet netboot --interface eno1 --server 192.168.50.1/24

The playbooks are in the package's ansible/ directory and run as they are with
ansible-playbook too (docs/fleet.md).`,
    );

  withCommon(
    fleet.command('plan').description("check every host and show the rollout's waves: facts (distribution, firmware, CPU, virtualisation, TSC) and whether it can run tsx-hv, with the reason; changes nothing"),
    false,
  )
    .option('--waves <list>', 'wave sizes as for rollout')
    .action(async (f: RolloutFlags) => {
      const out = output();
      const interrupt = interruptOnSignals(process.stderr, 'stopping ansible-playbook');
      const waves = f.waves ? parseWaves(f.waves) : undefined;
      const r = await fleetPlan({ ...fleetOptions(f, out, interrupt.signal), waves }).finally(interrupt.dispose);
      if (!out.json) r.waves?.forEach((w, i) => out.info(`wave ${i + 1}: ${w.join(' ')}`));
      await finish(out, r, f.junit);
    });

  withCommon(
    fleet
      .command('rollout')
      .description('roll tsx-hv out in waves: per host provision, the disk boot entry booted once, the health check (every CPU under tsx-hv, the speed at 10x within 1%, the clock never backwards), then the entry as default; a failed host is rolled back. Resumes from the journal'),
    true,
  )
    .option('--waves <list>', 'wave sizes: hosts or percentages of all hosts, the last repeating (default 1,10%,50%,100%)')
    .option('--max-fail <percent>', 'stop before the next wave when more than this percentage of a wave failed (default 10)')
    .option('--restart', 'ignore the journal: hosts that finished in an earlier run take part again')
    .action(async (f: RolloutFlags) => {
      const out = output();
      const waves = f.waves ? parseWaves(f.waves) : undefined;
      const maxFailPercent = f.maxFail !== undefined ? parseMaxFail(f.maxFail) : undefined;
      const interrupt = interruptOnSignals(process.stderr, 'stopping ansible-playbook (the journal keeps what finished)');
      const r = await fleetRollout({ ...fleetOptions(f, out, interrupt.signal), waves, maxFailPercent, journal: f.journal, restart: f.restart }).finally(interrupt.dispose);
      if (!out.json && r.resumed?.length) out.info(`resumed: ${r.resumed.join(' ')} finished in an earlier run (journal)`);
      await finish(out, r, f.junit);
    });

  withCommon(fleet.command('status').description('where every host stands: under tsx-hv from its default entry, on trial, provisioned or untouched; with the journal\'s last result. Read-only'), true).action(async (f: CommonFlags) => {
    const out = output();
    const interrupt = interruptOnSignals(process.stderr, 'stopping ansible-playbook');
    const r = await fleetStatus({ ...fleetOptions(f, out, interrupt.signal), journal: f.journal }).finally(interrupt.dispose);
    await finish(out, r, f.junit);
  });

  withCommon(fleet.command('rollback').description('return every host (or --limit) to its boot before tsx-hv: provision --revert, then a reboot where it runs under tsx-hv'), true).action(async (f: CommonFlags) => {
    const out = output();
    const interrupt = interruptOnSignals(process.stderr, 'stopping ansible-playbook');
    const r = await fleetRollback({ ...fleetOptions(f, out, interrupt.signal), journal: f.journal }).finally(interrupt.dispose);
    await finish(out, r, f.junit);
  });
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
