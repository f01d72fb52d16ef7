import type { Command } from 'commander';
import { Option } from 'commander';
import type { FlashEvent, FlashResult } from '../media/flash.js';
import { flashImage, listDrives } from '../media/flash.js';
import { renderCard } from '../media/card.js';
import { askDeviceName } from '../media/confirm.js';
import { FlashError } from '../media/errors.js';
import { formatBytes } from '../media/policy.js';
import { renderProgress } from '../media/progress.js';
import { testHooksFromEnv } from '../media/test-hooks.js';
import { TsxHvError, UsageError } from '../errors.js';
import type { Register } from './main.js';
import type { Output } from './output.js';
import { table } from '../util/render.js';

interface FlashFlags {
  list?: boolean;
  image?: string;
  yes?: boolean;
  verify: boolean;
  eject: boolean;
  allowNonRemovable?: boolean;
}

const PHASE_TEXT: Record<string, string> = {
  unmount: 'Unmounting the device\'s filesystems',
  open: 'Opening the device exclusively',
  write: 'Writing (the boot head is zeroed first and written last)',
  verify: 'Verifying by reading back with O_DIRECT',
  eject: 'Ejecting',
};

async function printList(out: Output, flags: FlashFlags): Promise<void> {
  const listing = await listDrives({ image: flags.image, allowNonRemovable: flags.allowNonRemovable, testHooks: testHooksFromEnv(process.env) });
  if (out.json) {
    out.document({
      image: listing.image,
      imageNote: listing.imageNote,
      drives: listing.drives.map((a) => ({
        path: a.device.path,
        type: a.device.type,
        size: a.device.size,
        transport: a.device.transport,
        removable: a.device.removable,
        vendor: a.device.vendor,
        model: a.device.model,
        serial: a.device.serial,
        mountpoints: a.device.mountpoints,
        verdict: a.verdict,
        reason: a.reason,
        refusals: a.refusals,
      })),
    });
    return;
  }
  const depth = new Map<string, number>();
  const rows = [['DEVICE', 'SIZE', 'TRAN', 'MODEL', 'VERDICT', 'REASON']];
  for (const a of listing.drives) {
    const indent = depth.get(a.device.path) ?? 0;
    for (const c of a.device.children) depth.set(c.path, indent + 1);
    const verdict = a.verdict === 'eligible' ? out.ok('eligible') : out.bad('refused');
    rows.push(['  '.repeat(indent) + a.device.path, formatBytes(a.device.size), a.device.transport ?? '-', a.device.model ?? '-', verdict, a.reason.replace(/^eligible: /, '')]);
  }
  out.info(table(rows));
  if (listing.imageNote) out.info(out.dim(`note: ${listing.imageNote}`));
  else if (listing.image) out.info(out.dim(`sizes checked against ${listing.image.path} (${formatBytes(listing.image.size)})`));
}

interface Reporter {
  report: (e: FlashEvent) => void;
  /** End a progress line left open on the terminal. */
  finish: () => void;
}

/** Human progress on stderr: a redrawn line on a terminal, a line per 10% otherwise. */
function humanReporter(out: Output): Reporter {
  const stderr = process.stderr;
  let lastTenth = -1;
  let drawn = false;
  const finish = (): void => {
    if (drawn) stderr.write('\n');
    drawn = false;
  };
  const report = (e: FlashEvent): void => {
    if (e.event === 'progress') {
      if (out.opts.quiet) return;
      const line = renderProgress(e);
      if (stderr.isTTY) {
        stderr.write(`\r${line}\u001b[K`);
        drawn = true;
      } else {
        const tenth = Math.floor((e.bytes / Math.max(1, e.total)) * 10);
        if (tenth !== lastTenth) stderr.write(line + '\n');
        lastTenth = tenth;
      }
      return;
    }
    finish();
    lastTenth = -1;
    if (e.event === 'plan') stderr.write(renderCard(e.card) + '\n');
    else if (e.event === 'phase' && PHASE_TEXT[e.phase] && !out.opts.quiet) stderr.write(`${PHASE_TEXT[e.phase]}...\n`);
    else if (e.event === 'warning') out.warn(e.message);
  };
  return { report, finish };
}

/** NDJSON on stdout; progress at most every 250 ms, always the last one of a phase. */
function jsonReporter(out: Output): Reporter {
  let last = 0;
  const report = (e: FlashEvent): void => {
    if (e.event === 'progress') {
      const now = performance.now();
      if (e.bytes < e.total && now - last < 250) return;
      last = now;
    }
    out.event(e);
  };
  return { report, finish: () => undefined };
}

function summary(r: FlashResult): string {
  const speed = `${formatBytes(r.writeBytesPerSecond)}/s`;
  const parts = [
    `Wrote ${formatBytes(r.image.size)} to ${r.device} in ${r.writeSeconds.toFixed(1)} s (${speed}, flushes included)`,
    r.verified ? `verified: the device reads back SHA-256 ${r.image.sha256}` : 'not verified (--no-verify)',
    r.ejected ? 'ejected: you can remove it' : 'not ejected',
  ];
  return parts.join('\n');
}

export const registerFlash: Register = (program: Command, output: () => Output) => {
  program
    .command('flash')
    .description('write the boot media to a USB stick without ever hitting the wrong disk')
    .argument('[device]', 'the whole disk to erase, e.g. /dev/sdb (see --list)')
    .option('--list', 'list every disk with its verdict: eligible, or why it is refused')
    .option('--image <file>', 'image to write (default: build/media/tsx-hv.iso, made by `tsx-hv build`)')
    .option('-y, --yes', 'do not ask to type the device name (required when stdin is not a terminal)')
    .option('--no-verify', 'skip the O_DIRECT read-back verification')
    .option('--no-eject', 'leave the device attached afterwards')
    .addOption(new Option('--allow-non-removable', 'accept a fixed disk (not removable, not on USB) as the target'))
    .addHelpText(
      'after',
      `
The card of the device is shown and you confirm by typing its name. System disks, disks with
filesystems mounted outside /media and /run/media, read-only, too small, partition, loop, RAM
and optical devices are always refused. Ctrl-C during the write stops with the boot head still
zero, so the device does not boot half an image.

Examples:
  $ tsx-hv flash --list
  $ sudo tsx-hv flash /dev/sdb
  $ sudo tsx-hv flash /dev/disk/by-id/usb-SanDisk_Cruzer_1234-0:0 --image my.iso --yes --json

Exit codes: 0 ok, 1 error (refused, or a phase failed), 2 usage, 3 cancelled,
4 verification failed.
See docs/flash.md.`,
    )
    .action(async (device: string | undefined, flags: FlashFlags) => {
      const out = output();
      if (flags.list) {
        if (device !== undefined) throw new UsageError('--list takes no device', 'run `tsx-hv flash --list`, then `tsx-hv flash DEVICE`');
        await printList(out, flags);
        return;
      }
      if (device === undefined) throw new UsageError('name the device to write, e.g. `tsx-hv flash /dev/sdb`', 'run `tsx-hv flash --list` to see the eligible disks');
      const testHooks = testHooksFromEnv(process.env);
      const reporter = out.json ? jsonReporter(out) : humanReporter(out);
      const controller = new AbortController();
      const onSignal = (signal: NodeJS.Signals): void => {
        if (!controller.signal.aborted) process.stderr.write(`\n${signal}: stopping after the current block, leaving the device unbootable...\n`);
        controller.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const result = await flashImage({
          device,
          image: flags.image,
          verify: flags.verify,
          eject: flags.eject,
          allowNonRemovable: flags.allowNonRemovable,
          signal: controller.signal,
          testHooks,
          onEvent: reporter.report,
          confirm: async (card) => {
            if (flags.yes) return true;
            if (!process.stdin.isTTY) {
              throw new FlashError('confirm', `refusing to erase ${card.path} without confirmation: stdin is not a terminal`, {
                code: 'CONFIRMATION_REQUIRED',
                hint: 'pass --yes to confirm non-interactively (after checking the device with `tsx-hv flash --list`)',
              });
            }
            return askDeviceName(card, process.stdin, process.stderr);
          },
        });
        reporter.finish();
        if (out.json) out.event({ event: 'result', ok: true, ...result });
        else out.info(summary(result));
      } catch (err) {
        reporter.finish();
        if (out.json) {
          const e = err as TsxHvError;
          out.event({
            event: 'result',
            ok: false,
            phase: err instanceof FlashError ? err.phase : null,
            code: err instanceof TsxHvError ? e.code : 'INTERNAL',
            error: e.message,
            exitCode: err instanceof TsxHvError ? e.exitCode : 1,
          });
        }
        throw err;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.stdin.unref?.();
      }
    });
};
