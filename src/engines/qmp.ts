import { connect, type Socket } from 'node:net';
import { TimeoutError, TsxHvError } from '../errors.js';
import { LineSplitter } from './lines.js';

/**
 * A QEMU Machine Protocol client (QEMU docs, "QMP Specification", docs/interop/qmp-spec.rst):
 * one JSON object per line; the server greets with {"QMP": ...}, the client must send
 * qmp_capabilities before any other command; replies are {"return": ...} or {"error": {...}}
 * in command order (an "id" member is echoed back); asynchronous {"event": ...} messages may
 * come at any time.
 */
export type QmpMessage =
  | { QMP: unknown }
  | { return: unknown; id?: unknown }
  | { error: { class: string; desc: string }; id?: unknown }
  | { event: string; data?: unknown; timestamp?: unknown };

export class QmpError extends TsxHvError {
  constructor(command: string, cls: string, desc: string) {
    super('QMP_ERROR', `QMP ${command} failed: ${cls}: ${desc}`);
    this.name = 'QmpError';
  }
}

export function formatCommand(execute: string, args?: Record<string, unknown>, id?: number): string {
  return JSON.stringify({ execute, ...(args ? { arguments: args } : {}), ...(id === undefined ? {} : { id }) }) + '\n';
}

export function parseMessage(line: string): QmpMessage | undefined {
  if (line.trim() === '') return undefined;
  try {
    const v = JSON.parse(line) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as QmpMessage) : undefined;
  } catch {
    return undefined;
  }
}

/** QMP `send-key` arguments for QEMU key names ("ctrl", "alt", "f12", "a", ...). */
export function sendKeyArgs(keys: readonly string[], holdTimeMs?: number): Record<string, unknown> {
  if (keys.length === 0 || keys.some((k) => !/^[a-z0-9_]+$/.test(k))) throw new TsxHvError('QMP_KEYS', `invalid QEMU key names: ${JSON.stringify(keys)}`);
  return { keys: keys.map((k) => ({ type: 'qcode', data: k })), ...(holdTimeMs === undefined ? {} : { 'hold-time': holdTimeMs }) };
}

interface Pending {
  command: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class QmpClient {
  readonly events: { event: string; data?: unknown }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private greeted: Promise<void>;
  private closed: Error | undefined;

  private constructor(private readonly socket: Socket) {
    let greet!: () => void;
    let fail!: (e: Error) => void;
    this.greeted = new Promise<void>((res, rej) => {
      greet = res;
      fail = rej;
    });
    this.greeted.catch(() => undefined);
    const splitter = new LineSplitter((line) => {
      const msg = parseMessage(line);
      if (!msg) return;
      if ('QMP' in msg) greet();
      else if ('event' in msg) this.events.push({ event: msg.event, data: msg.data });
      else this.settle(msg);
    });
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => splitter.push(d));
    const onGone = (err?: Error) => {
      this.closed = err ?? new TsxHvError('QMP_CLOSED', 'the QMP connection closed');
      fail(this.closed);
      for (const p of this.pending.values()) p.reject(this.closed);
      this.pending.clear();
    };
    socket.on('error', onGone);
    socket.on('close', () => onGone());
  }

  /** Connects to a QMP unix socket and negotiates capabilities. */
  static async connect(path: string, timeoutMs = 10_000): Promise<QmpClient> {
    const socket = connect(path);
    const client = new QmpClient(socket);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_r, rej) => {
      timer = setTimeout(() => rej(new TimeoutError(`no QMP greeting on ${path} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([client.greeted, timeout]);
      await Promise.race([client.execute('qmp_capabilities'), timeout]);
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  private settle(msg: QmpMessage): void {
    const id = 'id' in msg && typeof msg.id === 'number' ? msg.id : undefined;
    if (id === undefined) return;
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if ('error' in msg) p.reject(new QmpError(p.command, msg.error.class, msg.error.desc));
    else if ('return' in msg) p.resolve(msg.return);
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { command, resolve, reject });
      this.socket.write(formatCommand(command, args, id));
    });
  }

  sendKeys(keys: readonly string[], holdTimeMs?: number): Promise<unknown> {
    return this.execute('send-key', sendKeyArgs(keys, holdTimeMs));
  }

  close(): void {
    this.socket.destroy();
  }
}
