import { InterruptedError } from '../errors.js';

export interface Interrupt {
  /** Aborted by the first SIGINT or SIGTERM; its reason is an InterruptedError naming the signal. */
  signal: AbortSignal;
  /** Restore the default signal behaviour. */
  dispose: () => void;
}

/**
 * Ctrl-C (SIGINT) and SIGTERM during a command that changes things (build, provision) must not
 * kill the process on the spot: that would leave half-applied changes, mounts and the build lock
 * behind. Instead they abort `signal`; the library stops at its next step (killing the program it
 * is running), rolls back, releases what it holds, and throws the InterruptedError, which main()
 * turns into exit 130. Further signals while that cleanup runs are only acknowledged.
 */
export function interruptOnSignals(stderr: NodeJS.WritableStream, cleanup: string): Interrupt {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      stderr.write(`${name}: still ${cleanup}; please wait\n`);
      return;
    }
    stderr.write(`\n${name}: stopping; ${cleanup} ...\n`);
    controller.abort(new InterruptedError(`interrupted by ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
