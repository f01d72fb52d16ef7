import { Option } from 'commander';
import type { Register } from './main.js';
import type { Output } from './output.js';
import { provision, revertProvision, type ProvisionReport, type RevertReport } from '../provision/provision.js';
import { pauseAfterFromEnv } from '../provision/test-hooks.js';
import { untilAborted } from '../util/abort.js';
import { checkHypervisorFlags } from '../provision/action-hypervisor.js';
import type { Change } from '../provision/types.js';
import { interruptOnSignals } from './interrupt.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const MARK: Record<Change['status'], string> = {
  changed: '~',
  unchanged: '=',
  'would-change': '+',
  fallback: '!',
  failed: '!',
  info: 'i',
};

function printChanges(out: Output, changes: readonly Change[], showDiffs: boolean): void {
  for (const c of changes) {
    const status = c.status === 'changed' || c.status === 'would-change' ? out.ok(c.status) : c.status === 'failed' || c.status === 'fallback' ? out.bad(c.status) : out.dim(c.status);
    out.info(`${MARK[c.status]} [${c.action}] ${status} ${c.subject}: ${c.detail}`);
    if (showDiffs && c.diff) out.info(c.diff.trimEnd());
  }
}

function printReport(out: Output, r: ProvisionReport): void {
  out.info(`${r.target}: ${r.distribution.name} (${r.distribution.family}), boot loader ${r.bootLoader}, kernel arguments ${r.kernelArgs.join(' ')}`);
  printChanges(out, r.changes, r.dryRun || out.opts.verbose);
  if (r.dryRun) out.info(r.changed ? 'dry run: nothing was changed' : 'dry run: nothing to do');
  else out.info(r.changed ? `changed; backups and revert record in ${r.manifest} on the target (undo: tsx-hv provision --revert ${r.target})` : 'nothing to do: already provisioned');
  if (r.verification) {
    const v = r.verification;
    out.info(`verify: /proc/cmdline ${v.argsActive ? out.ok('has') : out.bad('lacks')} ${r.kernelArgs.join(' ')}; clocksource ${v.clocksource ?? 'unknown'} ${v.clocksourceIsTsc ? out.ok('(tsc)') : out.bad('(not tsc)')}`);
  }
}

function printRevert(out: Output, r: RevertReport): void {
  printChanges(out, r.changes, false);
  out.info(`${r.target}: reverted to the state before provision`);
}

export const registerProvision: Register = (program, output) => {
  program
    .command('provision')
    .description('prepare an installed Linux for time acceleration: tsc=reliable on the kernel command line, network time off, optionally the guest agent')
    .argument('<target>', 'dir:/path/to/root, image:disk.raw|disk.qcow2, or ssh://user@host[:port]')
    .option('--dry-run', 'print the diff of every file and every command; change nothing')
    .option('--revert', 'restore the target exactly as it was before provision, from the backups on it')
    .option('--append <args>', 'extra kernel arguments (repeatable)', collect, [])
    .option('--extreme-speeds', "also switch Linux's watchdogs off (lockup, RCU stall, hung task, workqueue): needed at speeds far from 1x, such as 10000x or 1/1000x")
    .option('--agent', 'install and enable the tsx-hv guest agent and its systemd unit')
    .option('--agent-binary <file>', 'agent binary to install (default: build it from images/agent)')
    .option('--agent-unit <file>', 'agent unit file (default: images/agent/tsx-hv-agent.service)')
    .option('--agent-console [tty]', 'also serve the agent protocol on a serial port (default ttyS0), for tsx-hv run/test against this system')
    .option('--hypervisor', 'add a GRUB entry to the target\'s disk that boots the installed kernel under the tsx-hv hypervisor (Debian-family GRUB)')
    .option('--trial', 'with --hypervisor: boot that entry once, at the next boot only (grub-reboot)')
    .option('--default', 'with --hypervisor: make that entry the default (GRUB_DEFAULT=tsx-hv)')
    .option('--hv-args <args>', 'with --hypervisor: more hypervisor arguments (after serial=0x2f8 grace=0)')
    .option('--hypervisor-image <file>', 'with --hypervisor: the hypervisor image (default: build/hv-core/tsx-hv.elf)')
    .option('-i, --identity <file>', 'ssh private key (ssh targets; default: your keys and agent)')
    .addOption(new Option('-o, --ssh-option <option>', 'extra ssh -o option, e.g. StrictHostKeyChecking=accept-new (repeatable)').argParser(collect).default([]))
    .option('--reboot', 'live targets: reboot after provisioning and wait for the host')
    .option('--verify', 'live targets: check /proc/cmdline and the clocksource (after --reboot)')
    .addHelpText(
      'after',
      `
Examples:
  $ tsx-hv provision dir:/mnt/root --dry-run
  $ tsx-hv provision image:disk.qcow2 --agent
  $ tsx-hv provision image:disk.raw --agent --hypervisor --trial
  $ tsx-hv provision ssh://root@lab-17 --hypervisor --default
  $ tsx-hv provision ssh://root@lab-17 --reboot --verify --json
  $ tsx-hv provision --revert image:disk.qcow2`,
    )
    .action(async (spec: string, o: { dryRun?: boolean; revert?: boolean; append: string[]; extremeSpeeds?: boolean; agent?: boolean; agentBinary?: string; agentUnit?: string; identity?: string; sshOption: string[]; reboot?: boolean; verify?: boolean; agentConsole?: string | boolean; hypervisor?: boolean; trial?: boolean; default?: boolean; hvArgs?: string; hypervisorImage?: string }) => {
      const out = output();
      const ssh = { identity: o.identity, options: o.sshOption };
      if (o.revert) {
        const r = await revertProvision(spec, ssh);
        if (out.json) out.document(r);
        else printRevert(out, r);
        return;
      }
      checkHypervisorFlags({ hypervisor: o.hypervisor || o.hypervisorImage !== undefined, trial: o.trial, makeDefault: o.default, hvArgs: o.hvArgs });
      const agentConsole = o.agentConsole === undefined ? undefined : o.agentConsole === true ? 'ttyS0' : String(o.agentConsole);
      const agent = o.agent || o.agentBinary || o.agentUnit || agentConsole ? { binary: o.agentBinary, unit: o.agentUnit, console: agentConsole } : false;
      const hypervisor = o.hypervisor || o.hypervisorImage ? { image: o.hypervisorImage, hvArgs: o.hvArgs, trial: o.trial, makeDefault: o.default } : false;
      const pauseAfter = pauseAfterFromEnv(process.env);
      const interrupt = interruptOnSignals(process.stderr, 'rolling back what this run changed');
      try {
        const afterOperation = async (applied: number): Promise<void> => {
          if (applied !== pauseAfter) return;
          process.stderr.write(`test hook: paused after ${applied} operations; waiting for SIGINT or SIGTERM\n`);
          await untilAborted(interrupt.signal);
        };
        const r = await provision({ target: spec, append: o.append, extremeSpeeds: o.extremeSpeeds, agent, hypervisor, dryRun: o.dryRun, ssh, reboot: o.reboot, verify: o.verify, signal: interrupt.signal, afterOperation });
        if (out.json) out.document(r);
        else printReport(out, r);
      } finally {
        interrupt.dispose();
      }
    });
};
