import { connect } from 'node:net';
import { parseControlReply, type ControlReply } from '../engines/hv-port.js';
import { LineSplitter } from '../engines/lines.js';
import { TimeoutError, TsxHvError } from '../errors.js';
import { readRunState, runStatePath } from './run-state.js';
import { parseSpeed, speedArgument } from './speed.js';

/**
 * Client of the control protocol (COMMON contract; docs/run.md): connects to the socket of a
 * running `tsx-hv run` (or any socket speaking the protocol: one line in, one `ok ...` /
 * `err CODE message` line out).
 */
export class ControlRefusedError extends TsxHvError {
  constructor(
    readonly request: string,
    readonly reply: ControlReply,
  ) {
    super('CONTROL_REFUSED', `"${request}" refused: ${reply.code}${reply.payload ? ` ${reply.payload}` : ''}`, { exitCode: 1 });
    this.name = 'ControlRefusedError';
  }
}

/** Sends each line in order over one connection; resolves with the reply lines. */
export async function controlExchange(socketPath: string, requests: readonly string[], timeoutMs = 10_000): Promise<string[]> {
  return new Promise<string[]>((resolve, reject) => {
    const replies: string[] = [];
    const socket = connect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TimeoutError(`no reply on ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    const lines = new LineSplitter((line) => {
      replies.push(line);
      if (replies.length === requests.length) {
        clearTimeout(timer);
        socket.end();
        resolve(replies);
      }
    });
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => lines.push(d));
    socket.on('connect', () => socket.write(requests.map((r) => r + '\n').join('')));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new TsxHvError('CONTROL_CONNECT', `cannot talk to ${socketPath}: ${err.code ?? err.message}`, { hint: 'is `tsx-hv run` still running?' }));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (replies.length < requests.length) reject(new TsxHvError('CONTROL_CLOSED', `${socketPath} closed before replying`));
    });
  });
}

/** Resolves the socket: the one given, else the one the running `tsx-hv run` recorded. */
export async function resolveControlSocket(socket?: string, statePath = runStatePath()): Promise<string> {
  if (socket) return socket;
  return (await readRunState(statePath)).control;
}

/** One control command; throws ControlRefusedError on `err`. */
export async function control(line: string, opts: { socket?: string; timeoutMs?: number } = {}): Promise<ControlReply> {
  const path = await resolveControlSocket(opts.socket);
  const [replyLine] = await controlExchange(path, [line], opts.timeoutMs);
  const reply = parseControlReply(replyLine!);
  if (!reply.ok) throw new ControlRefusedError(line, reply);
  return reply;
}

/**
 * `speed N` or `speed P/Q`, validated before it is sent (parseSpeed: the range and the rules every
 * speed follows). A decimal ("0.5") becomes the reduced fraction ("1/2"): the control protocol
 * itself takes only N and P/Q.
 */
export function speedRequest(speed: string): string {
  return `speed ${speedArgument(parseSpeed(speed))}`;
}

/** The JSON document of a `status` reply (`ok {json}`). */
export function parseStatus(reply: ControlReply): Record<string, unknown> {
  try {
    const v = JSON.parse(reply.payload) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new TsxHvError('CONTROL_PROTOCOL', `status reply is not a JSON object: ${reply.line}`);
}
