import { run } from '../util/run.js';
import { FlashError } from './errors.js';

/**
 * Unmount the automounted filesystems of the device before it is opened exclusively, deepest
 * mount first. A failure stops the flash before anything is written.
 */
export async function unmountAll(mountpoints: readonly string[]): Promise<void> {
  const deepestFirst = [...mountpoints].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const mp of deepestFirst) {
    try {
      await run('umount', [mp]);
    } catch (err) {
      throw new FlashError('unmount', `cannot unmount ${mp}: ${(err as Error).message}`, {
        cause: err,
        hint: 'close the programs using files there (see `fuser -vm ' + mp + '`) and try again',
      });
    }
  }
}

export interface EjectOutcome {
  ejected: boolean;
  /** Why ejecting failed; the flash itself succeeded. */
  warning?: string;
}

/** Eject the medium so the stick can be pulled. A failure is a warning, not a failed flash. */
export async function ejectDevice(path: string): Promise<EjectOutcome> {
  try {
    await run('eject', [path]);
    return { ejected: true };
  } catch (err) {
    const why = (err as Error).message;
    return { ejected: false, warning: `eject: ${path} was written, but ejecting it failed (${why}); it is safe to remove once no activity light blinks` };
  }
}
