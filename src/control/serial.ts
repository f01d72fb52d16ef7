import { closeSync, constants, openSync, write } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isatty, ReadStream } from 'node:tty';
import { parseControlReply, checkControlLine, type ControlReply } from '../engines/hv-port.js';
import { LineSplitter } from '../engines/lines.js';
import { TimeoutError, TsxHvError, UsageError } from '../errors.js';
import { run } from '../util/run.js';
import { ControlRefusedError } from './client.js';

/**
 * The control protocol over a serial line: a real machine's hypervisor port reached through a
 * serial cable (a USB adapter such as /dev/ttyUSB0, a motherboard port /dev/ttyS1) or any tty
 * wired to it (an emulator's pty). Unlike the socket of `tsx-hv run`, the line carries the
 * hypervisor's log as well (lines starting with "# ", docs/hypervisor.md), so replies are picked
 * out of it: the first `ok ...` / `err ...` line after the request.
 *
 * The hypervisor's UART runs at 115200 baud, 8N1, no flow control (hv-core/src/lib/serial.c).
 */
export const SERIAL_DEFAULT_BAUD = 115200;

/** The rates stty accepts on Linux (termios B* constants). */
const BAUDS = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000];

/** Reads the line for this long before the request, discarding a reply or log tail still arriving. */
const SETTLE_MS = 200;

export function parseBaud(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || !BAUDS.includes(n)) throw new UsageError(`unsupported baud rate "${value}"`, `use one of ${BAUDS.join(', ')} (the hypervisor's port runs at ${SERIAL_DEFAULT_BAUD})`);
  return n;
}

interface SerialLine {
  /** The reading side: a tty stream (libuv reads it through the event loop, so closing never waits). */
  reader: ReadStream;
  /** A separate descriptor for writing (blocking; requests are short). */
  writeFd: number;
}

const notSerial = (device: string, why: string): UsageError =>
  new UsageError(`${device} is not a serial device (${why})`, 'give the serial port wired to the hypervisor port, e.g. --port /dev/ttyUSB0');

/**
 * Opens `device` as a serial line at `baud`, raw, 8N1, no flow control, and checks it is one: a
 * path that does not exist, is not a character device or is not a terminal is a UsageError
 * that names it (nothing is written to it then).
 */
async function openSerial(device: string, baud: number): Promise<SerialLine> {
  const info = await stat(device).catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`serial device ${device}: ${e.code === 'ENOENT' ? 'no such file' : (e.code ?? e.message)}`, 'give the serial port wired to the hypervisor port, e.g. --port /dev/ttyUSB0');
  });
  if (!info.isCharacterDevice()) throw notSerial(device, 'not a character device');
  const opened = (flags: number): number => {
    try {
      // O_NOCTTY: the line must not become tsx-hv's controlling terminal.
      return openSync(device, flags | constants.O_NOCTTY);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new TsxHvError('SERIAL_OPEN', `cannot open ${device}: ${e.code ?? e.message}`, { hint: e.code === 'EACCES' ? "run as root or as a member of the device's group (usually dialout)" : undefined });
    }
  };
  const readFd = opened(constants.O_RDWR | constants.O_NONBLOCK);
  if (!isatty(readFd)) {
    closeSync(readFd);
    throw notSerial(device, 'not a terminal');
  }
  let writeFd: number | undefined;
  try {
    // The settings belong to the line, not to a descriptor: they hold for the ones open here.
    await run('stty', ['-F', device, String(baud), 'raw', '-echo', 'cs8', '-cstopb', '-parenb', '-crtscts', '-ixon', '-ixoff', 'clocal', 'cread'], {
      hint: `could not set ${device} to ${baud} baud, raw`,
    });
    writeFd = opened(constants.O_WRONLY);
    return { reader: new ReadStream(readFd), writeFd };
  } catch (e) {
    closeSync(readFd);
    if (writeFd !== undefined) closeSync(writeFd);
    throw e;
  }
}

/**
 * Sends each request in order over the serial line and resolves with the reply lines; log lines
 * and anything else that is not a reply are skipped. One request at a time: the next one is sent
 * when the previous one has its reply.
 */
export async function serialExchange(device: string, requests: readonly string[], opts: { baud?: number; timeoutMs?: number } = {}): Promise<string[]> {
  for (const r of requests) checkControlLine(r);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const { reader, writeFd } = await openSerial(device, opts.baud ?? SERIAL_DEFAULT_BAUD);
  reader.setEncoding('latin1');
  const replies: string[] = [];
  let settled = false;
  let onReply: ((l: string) => void) | undefined;
  const lines = new LineSplitter((l) => {
    if (/^(ok|err)( |$)/.test(l)) onReply?.(l);
  }, 4096);
  reader.on('data', (d: string) => lines.push(d));
  try {
    return await new Promise<string[]>((resolve, reject) => {
      const fail = (e: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(e);
      };
      const timer = setTimeout(
        () => fail(new TimeoutError(`no reply to "${requests[replies.length]}" on ${device} within ${timeoutMs} ms`, 'is the cable on the hypervisor port, at the right baud rate (--baud), and is the machine running tsx-hv?')),
        timeoutMs,
      );
      reader.on('error', (e: NodeJS.ErrnoException) => fail(new TsxHvError('SERIAL_IO', `${device}: ${e.code ?? e.message}`)));
      const send = (): void => {
        // A newline first ends whatever noise the hypervisor's line reader holds (an empty line
        // gets no reply), so the request is read as a line of its own.
        write(writeFd, Buffer.from(`\n${requests[replies.length]}\n`, 'latin1'), (e) => {
          if (e) fail(new TsxHvError('SERIAL_IO', `${device}: ${e.code ?? e.message}`));
        });
      };
      // Replies still on their way when the line was opened are not ours: the first request goes
      // out, and replies count, only after the line has been quiet-read for a moment.
      setTimeout(() => {
        if (settled) return;
        onReply = (l) => {
          if (settled) return;
          replies.push(l);
          if (replies.length < requests.length) return send();
          settled = true;
          clearTimeout(timer);
          resolve(replies);
        };
        send();
      }, SETTLE_MS);
    });
  } finally {
    reader.destroy();
    closeSync(writeFd);
  }
}

/** One control command over a serial line; throws ControlRefusedError on `err`. */
export async function serialControl(device: string, request: string, opts: { baud?: number; timeoutMs?: number } = {}): Promise<ControlReply> {
  const [replyLine] = await serialExchange(device, [request], opts);
  const reply = parseControlReply(replyLine!);
  if (!reply.ok) throw new ControlRefusedError(request, reply);
  return reply;
}
