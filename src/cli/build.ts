import type { Command } from 'commander';
import { build } from '../builder/build.js';
import type { Register } from './main.js';
import type { Output } from './output.js';
import { table } from '../util/render.js';
import { interruptOnSignals } from './interrupt.js';

interface BuildFlags {
  kernel?: string;
  initrd?: string;
  append?: string;
  hvArgs?: string;
  out?: string;
}

export const registerBuild: Register = (program: Command, output: () => Output) => {
  program
    .command('build')
    .description('build the hypervisor, the Node addon, the guest (kernel, initramfs, agent) and the hybrid BIOS+UEFI boot ISO; rebuilds only what changed')
    .option('--kernel <file>', 'guest kernel (bzImage) instead of Debian\'s linux-image-amd64')
    .option('--initrd <file>', 'guest initramfs instead of the busybox + agent one')
    .option('--append <args>', 'appended to the guest kernel command line')
    .option('--hv-args <args>', 'appended to the hypervisor command line (e.g. "grace=5")')
    .option('--out <dir>', 'output directory (default: build/ in the package)')
    .addHelpText('after', '\nExamples:\n  $ tsx-hv build\n  $ tsx-hv build --append "quiet" --hv-args "grace=10"\n  $ tsx-hv build --kernel ./bzImage --json')
    .action(async (flags: BuildFlags) => {
      const out = output();
      const interrupt = interruptOnSignals(process.stderr, 'stopping the running step and releasing the build lock');
      const result = await build({ ...flags, log: (l) => out.debug(l), signal: interrupt.signal }).finally(interrupt.dispose);
      if (out.json) {
        out.document(result);
        return;
      }
      out.info(table([['STEP', 'STATUS', 'TIME', 'DETAIL'], ...result.steps.map((s) => [s.step, s.status === 'built' ? out.ok('built') : out.dim('up-to-date'), `${(s.ms / 1000).toFixed(1)} s`, s.detail ?? ''])]));
      out.info('');
      out.info(`media       ${result.outputs.iso}`);
      out.info(`hypervisor  ${result.outputs.hvElf}, ${result.outputs.hvEfiElf}  (${result.hvArgs})`);
      out.info(`guest       ${result.outputs.vmlinuz} + ${result.outputs.initrd}  (${result.guestCmdline})`);
    });
};
