import { ExitCode, TsxHvError } from '../errors.js';

/**
 * The steps of a flash, in order. Every failure names the phase it happened in, so an operator
 * knows what state the device is in: nothing has touched the device before `open`, the boot head
 * is zeroed from the first write on, and the image is complete only after the final `sync`.
 */
export type FlashPhase = 'discover' | 'confirm' | 'unmount' | 'open' | 'write' | 'sync' | 'verify' | 'eject';

/**
 * Exit codes of `tsx-hv flash` (docs/flash.md): 0 ok, 1 error, 3 cancelled, 4 verification failed.
 * Verification has its own code, not 2: 2 is every command's usage error (bad flags).
 */
export const FlashExitCode = {
  ok: ExitCode.ok,
  error: ExitCode.error,
  cancelled: ExitCode.cancelled,
  verificationFailed: 4,
} as const;

/** A flash step failed: the message starts with the phase and ends with the operating system's cause. */
export class FlashError extends TsxHvError {
  readonly phase: FlashPhase;
  constructor(phase: FlashPhase, message: string, opts: { code?: string; hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(opts.code ?? 'FLASH_FAILED', `${phase}: ${message}`, { exitCode: opts.exitCode ?? FlashExitCode.error, hint: opts.hint, cause: opts.cause });
    this.name = 'FlashError';
    this.phase = phase;
  }
}

/** The safety policy refused the device; nothing was written. */
export class DeviceRefusedError extends FlashError {
  readonly reasons: readonly string[];
  constructor(device: string, reasons: readonly string[], hint?: string) {
    super('discover', `refusing to write to ${device}: ${reasons.join('; ')}`, { code: 'DEVICE_REFUSED', hint });
    this.name = 'DeviceRefusedError';
    this.reasons = reasons;
  }
}

/** The device was written but reads back differently from the image: exit 4. */
export class VerificationFailedError extends FlashError {
  readonly firstDifferenceOffset: number;
  constructor(message: string, firstDifferenceOffset: number) {
    super('verify', message, {
      code: 'VERIFICATION_FAILED',
      exitCode: FlashExitCode.verificationFailed,
      hint: 'the device returns different data than was written: it may be failing or counterfeit; try another stick',
    });
    this.name = 'VerificationFailedError';
    this.firstDifferenceOffset = firstDifferenceOffset;
  }
}

/** The operator declined or interrupted the flash: exit 3; `state` says what is on the device now. */
export class FlashCancelledError extends FlashError {
  readonly state: string;
  constructor(phase: FlashPhase, state: string) {
    super(phase, `cancelled: ${state}`, { code: 'CANCELLED', exitCode: FlashExitCode.cancelled });
    this.name = 'FlashCancelledError';
    this.state = state;
  }
}

const errnoText: Record<string, string> = {
  EBUSY: 'the device is busy: a filesystem on it is mounted, or another program holds it open exclusively',
  EACCES: 'permission denied: run as root',
  EPERM: 'operation not permitted: run as root',
  EROFS: 'the device is read-only (write-protect switch?)',
  ENOSPC: 'no space left: the device is smaller than the image',
  EIO: 'input/output error: the device is failing or was unplugged',
  ENXIO: 'no such device: it was unplugged or has no medium',
  ENODEV: 'no such device: it was unplugged',
  ENOENT: 'no such file or directory',
  EINVAL: 'invalid argument (the device refused direct I/O at this size or alignment)',
  ENOMEDIUM: 'no medium in the drive',
};

/** One line naming the operating system's cause of a failed system call. */
export function describeCause(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') return `${e.code}: ${errnoText[e.code] ?? e.message}`;
  return e instanceof Error ? e.message : String(err);
}
