import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { DriveCard } from './card.js';
import { driveCard } from './card.js';
import type { BlockDevice } from './drives.js';
import { discoverDevices, resolveDeviceArgument, walk } from './drives.js';
import { ejectDevice, unmountAll } from './ejector.js';
import type { FlashPhase } from './errors.js';
import { DeviceRefusedError, FlashCancelledError, FlashError, describeCause } from './errors.js';
import type { ImageInfo } from './image.js';
import { inspectImage } from './image.js';
import type { Assessment, PolicyOptions } from './policy.js';
import { assess, assessAll } from './policy.js';
import type { ProgressSample } from './progress.js';
import { RateMeter } from './progress.js';
import type { TestHooks } from './test-hooks.js';
import { corruptDeviceByte } from './test-hooks.js';
import { verifyDevice } from './verifier.js';
import { writeImage } from './writer.js';

export type FlashEvent =
  | { event: 'plan'; card: DriveCard }
  | { event: 'phase'; phase: FlashPhase }
  | ({ event: 'progress' } & ProgressSample)
  | { event: 'warning'; message: string };

export interface FlashOptions {
  /** The device as the user named it: /dev/sdb, sdb, or a /dev/disk/by-id link. */
  device: string;
  /** Defaults to build/media/tsx-hv.iso. */
  image?: string;
  verify?: boolean;
  eject?: boolean;
  allowNonRemovable?: boolean;
  /**
   * Shown the card of the device about to be erased; resolves true to go ahead. The CLI asks the
   * operator to type the device name, or passes `async () => true` for --yes.
   */
  confirm: (card: DriveCard) => Promise<boolean>;
  signal?: AbortSignal;
  onEvent?: (event: FlashEvent) => void;
  testHooks?: TestHooks;
}

export interface FlashResult {
  device: string;
  /** sha256 is that of the image and of the read-back (equal), null with verify: false. */
  image: { path: string; size: number; sha256: string | null };
  bytesWritten: number;
  /** Write phase including the flushes, in seconds, and the resulting throughput. */
  writeSeconds: number;
  syncSeconds: number;
  writeBytesPerSecond: number;
  verified: boolean;
  verifySeconds: number | null;
  ejected: boolean;
  warnings: string[];
}

export interface DriveListing {
  image: { path: string; size: number } | null;
  /** Why the size and "holds the image" rules were not checked (no image). */
  imageNote: string | null;
  drives: Assessment[];
}

function policyOptions(image: ImageInfo | undefined, allowNonRemovable: boolean | undefined, hooks: TestHooks | undefined): PolicyOptions {
  return { image, allowNonRemovable: Boolean(allowNonRemovable), allowLoop: hooks?.allowLoop ?? [] };
}

/** `tsx-hv flash --list`: every block device with its verdict. */
export async function listDrives(opts: { image?: string; allowNonRemovable?: boolean; testHooks?: TestHooks } = {}): Promise<DriveListing> {
  let image: ImageInfo | undefined;
  let imageNote: string | null = null;
  try {
    image = await inspectImage(opts.image);
  } catch (err) {
    if (opts.image !== undefined) throw err;
    imageNote = `${(err as Error).message}: sizes are not checked against an image`;
  }
  const devices = await discoverDevices();
  return {
    image: image ? { path: image.path, size: image.size } : null,
    imageNote,
    drives: assessAll(devices, policyOptions(image, opts.allowNonRemovable, opts.testHooks)),
  };
}

function parentOf(target: BlockDevice, devices: readonly BlockDevice[]): BlockDevice | undefined {
  for (const d of walk(devices)) if (d.children.includes(target)) return d;
  return undefined;
}

function refusalHint(a: Assessment, devices: readonly BlockDevice[]): string {
  const code = a.refusals[0]!.code;
  if (code === 'partition') {
    const parent = parentOf(a.device, devices);
    return parent ? `name the whole disk instead: ${parent.path}` : 'name a whole disk';
  }
  if (code === 'non-removable' && a.refusals.length === 1) return 'pass --allow-non-removable if this fixed disk really is the target';
  if (code === 'mounted') return 'unmount those filesystems yourself if nothing needs them, then run the command again';
  return 'run `tsx-hv flash --list` to see which disks are eligible';
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, onAbort: () => Error): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(onAbort());
  return new Promise<T>((resolve, reject) => {
    const listener = (): void => reject(onAbort());
    signal.addEventListener('abort', listener, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', listener);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', listener);
        reject(e);
      },
    );
  });
}

const nothingWritten = (phase: FlashPhase): FlashCancelledError => new FlashCancelledError(phase, 'nothing was written');

async function assessDevice(name: string, image: ImageInfo, opts: FlashOptions): Promise<{ assessment: Assessment; devices: BlockDevice[] }> {
  const devices = await discoverDevices();
  const device = await resolveDeviceArgument(name, devices);
  const assessment = assess(device, policyOptions(image, opts.allowNonRemovable, opts.testHooks));
  if (assessment.verdict === 'refused') {
    throw new DeviceRefusedError(device.path, assessment.refusals.map((r) => r.message), refusalHint(assessment, devices));
  }
  return { assessment, devices };
}

/**
 * Flash the image to a removable drive: assess, show the card and confirm, unmount, open
 * exclusively, assess again under the exclusive claim, write (head last), flush, verify, eject.
 */
export async function flashImage(opts: FlashOptions): Promise<FlashResult> {
  const emit = opts.onEvent ?? (() => undefined);
  const phase = (p: FlashPhase): void => emit({ event: 'phase', phase: p });
  const warnings: string[] = [];
  const warn = (message: string): void => {
    warnings.push(message);
    emit({ event: 'warning', message });
  };

  phase('discover');
  const image = await inspectImage(opts.image);
  const first = await assessDevice(opts.device, image, opts);
  const card = driveCard(first.assessment, image);
  emit({ event: 'plan', card });

  phase('confirm');
  const yes = await abortable(opts.confirm(card), opts.signal, () => nothingWritten('confirm'));
  if (!yes) throw new FlashCancelledError('confirm', `the device name was not confirmed; nothing was written to ${card.path}`);
  if (opts.signal?.aborted) throw nothingWritten('confirm');

  if (first.assessment.unmount.length > 0) {
    phase('unmount');
    await unmountAll(first.assessment.unmount);
  }

  phase('open');
  const path = first.assessment.device.path;
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_WRONLY | constants.O_EXCL | constants.O_DIRECT);
  } catch (err) {
    throw new FlashError('open', `cannot open ${path} exclusively: ${describeCause(err)}`, { cause: err });
  }
  try {
    // Under the exclusive claim nothing can mount the device any more: decide again, on fresh
    // facts, and make sure it is still the same drive the operator confirmed.
    const again = await assessDevice(path, image, opts);
    const d = again.assessment.device;
    const was = first.assessment.device;
    if (d.majMin !== was.majMin || d.serial !== was.serial || d.size !== was.size) {
      throw new FlashError('open', `${path} changed since it was confirmed (another drive was plugged in its place?)`);
    }
    if (opts.signal?.aborted) throw nothingWritten('open');

    phase('write');
    const writeMeter = new RateMeter('write');
    const written = await writeImage({
      device: fh,
      devicePath: path,
      imagePath: image.path,
      imageSize: image.size,
      blockSize: d.logicalBlockSize,
      signal: opts.signal,
      throttleBytesPerSecond: opts.testHooks?.throttleBytesPerSecond,
      onProgress: (bytes, total) => emit({ event: 'progress', ...writeMeter.sample(bytes, total) }),
    });

    if (opts.testHooks?.corruptOffset !== undefined) {
      if (opts.testHooks.corruptOffset >= image.size) {
        throw new FlashError('verify', `TSX_HV_FLASH_TEST_CORRUPT_OFFSET ${opts.testHooks.corruptOffset} is beyond the image (${image.size} bytes)`);
      }
      await corruptDeviceByte(path, opts.testHooks.corruptOffset, d.logicalBlockSize);
      warn(`test hook: byte ${opts.testHooks.corruptOffset} of ${path} was inverted after the write (TSX_HV_FLASH_TEST_CORRUPT_OFFSET)`);
    }
    if (opts.signal?.aborted) throw new FlashCancelledError('write', `the image was written completely to ${path} but not verified`);

    let verifySeconds: number | null = null;
    let sha256: string | null = null;
    if (opts.verify !== false) {
      phase('verify');
      const verifyMeter = new RateMeter('verify');
      const v = await verifyDevice({
        devicePath: path,
        imagePath: image.path,
        imageSize: image.size,
        blockSize: d.logicalBlockSize,
        signal: opts.signal,
        onProgress: (bytes, total) => emit({ event: 'progress', ...verifyMeter.sample(bytes, total) }),
      });
      verifySeconds = v.verifyMs / 1000;
      sha256 = v.sha256;
    }
    await fh.close();

    let ejected = false;
    if (opts.eject !== false) {
      phase('eject');
      const e = await ejectDevice(path);
      ejected = e.ejected;
      if (e.warning) warn(e.warning);
    }
    return {
      device: path,
      image: { path: image.path, size: image.size, sha256 },
      bytesWritten: written.bytesWritten,
      writeSeconds: written.writeMs / 1000,
      syncSeconds: written.syncMs / 1000,
      writeBytesPerSecond: written.bytesWritten / (written.writeMs / 1000),
      verified: opts.verify !== false,
      verifySeconds,
      ejected,
      warnings,
    };
  } finally {
    await fh.close().catch(() => undefined);
  }
}
