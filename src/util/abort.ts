import { InterruptedError, TsxHvError } from '../errors.js';

/**
 * What an aborted signal means to tsx-hv: its reason when that is one of our errors (the CLI
 * aborts with an InterruptedError naming SIGINT or SIGTERM), else a plain InterruptedError
 * (exit 130), so a library caller's bare `controller.abort()` also ends in exit 130, not in a
 * DOMException.
 */
export function interruption(signal: AbortSignal, what = 'interrupted'): TsxHvError {
  return signal.reason instanceof TsxHvError ? signal.reason : new InterruptedError(what);
}

/** Throws interruption(signal) when the signal is aborted: the check between two steps. */
export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw interruption(signal);
}

/**
 * Resolves never; rejects with interruption(signal) once the signal is aborted. A timer keeps
 * the process alive meanwhile: signal handlers alone do not, and Node would end the wait (and
 * the process, exit 13) with the promise unsettled.
 */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    if (signal.aborted) {
      reject(interruption(signal));
      return;
    }
    const keepAlive = setInterval(() => undefined, 60_000);
    signal.addEventListener(
      'abort',
      () => {
        clearInterval(keepAlive);
        reject(interruption(signal));
      },
      { once: true },
    );
  });
}
