import type { EngineMachine } from './machine.js';

/** Ctrl-C as a byte: in raw mode the terminal delivers it instead of raising SIGINT. */
export const CTRL_C = 0x03;

export interface TerminalStreams {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WritableStream;
}

/**
 * Puts the guest console on the terminal: stdin (raw when it is a TTY) goes to the console,
 * console output to stdout. Ctrl-C is not forwarded: it calls onInterrupt. Returns a function
 * that restores the terminal.
 */
export function attachTerminal(machine: EngineMachine, io: TerminalStreams, onInterrupt: () => void): () => void {
  const wasRaw = io.stdin.isTTY ? io.stdin.isRaw : false;
  if (io.stdin.isTTY) io.stdin.setRawMode(true);
  const onInput = (d: Buffer) => {
    const at = d.indexOf(CTRL_C);
    if (at >= 0) {
      if (at > 0) machine.writeConsole(d.subarray(0, at));
      onInterrupt();
      return;
    }
    machine.writeConsole(d);
  };
  const onOutput = (d: Buffer) => io.stdout.write(d);
  io.stdin.on('data', onInput);
  io.stdin.resume();
  machine.console.on('data', onOutput);
  return () => {
    io.stdin.off('data', onInput);
    io.stdin.pause();
    machine.console.off('data', onOutput);
    if (io.stdin.isTTY) io.stdin.setRawMode(wasRaw);
  };
}
