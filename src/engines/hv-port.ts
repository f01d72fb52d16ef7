import { TimeoutError, TsxHvError } from '../errors.js';

/**
 * The hypervisor's serial port (COMMON contract): log lines start with "# ", control replies
 * with "ok" or "err CODE message". Replies carry no id, so requests go out one at a time.
 */
export type HvLineKind = 'log' | 'reply' | 'other';

export function classifyHvLine(line: string): HvLineKind {
  if (line.startsWith('#')) return 'log';
  if (line === 'ok' || line.startsWith('ok ') || line === 'err' || line.startsWith('err ')) return 'reply';
  return 'other';
}

export interface ControlReply {
  ok: boolean;
  /** For ok: the text after "ok "; for err: the message after the code. */
  payload: string;
  /** For err: the error code (second word). */
  code?: string;
  line: string;
}

export function parseControlReply(line: string): ControlReply {
  if (line === 'ok' || line.startsWith('ok ')) return { ok: true, payload: line.slice(3), line };
  const m = /^err(?: (\S+))?(?: (.*))?$/.exec(line);
  if (!m) throw new TsxHvError('CONTROL_PROTOCOL', `not a control reply: ${JSON.stringify(line)}`);
  return { ok: false, code: m[1] ?? 'unknown', payload: m[2] ?? '', line };
}

/** Refuses a control command that is not one line of printable text. */
export function checkControlLine(line: string): string {
  if (!/^[\x20-\x7e]{1,200}$/.test(line)) throw new TsxHvError('CONTROL_PROTOCOL', 'a control command is one line of 1-200 printable ASCII characters');
  return line;
}

interface Waiter {
  resolve: (line: string) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class HvPort {
  readonly log: string[] = [];
  private waiter: Waiter | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closedWith: Error | undefined;

  constructor(
    private readonly write: (text: string) => void,
    private readonly onLog: (line: string) => void = () => undefined,
  ) {}

  line(line: string): void {
    const kind = classifyHvLine(line);
    if (kind === 'reply' && this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      clearTimeout(w.timer);
      w.resolve(line);
      return;
    }
    this.log.push(line);
    this.onLog(line);
  }

  /** Sends one control line and resolves with the reply line (`ok ...` or `err ...`). */
  control(line: string, timeoutMs: number): Promise<string> {
    checkControlLine(line);
    const job = this.queue.then(() => this.once(line, timeoutMs));
    this.queue = job.catch(() => undefined);
    return job;
  }

  private once(line: string, timeoutMs: number): Promise<string> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new TimeoutError(`the hypervisor did not answer "${line}" within ${timeoutMs} ms`, 'is the machine running under tsx-hv (not --no-hypervisor)?'));
      }, timeoutMs);
      this.waiter = { resolve, reject, timer };
      this.write(line + '\n');
    });
  }

  close(reason: Error): void {
    this.closedWith = reason;
    if (this.waiter) {
      clearTimeout(this.waiter.timer);
      this.waiter.reject(reason);
      this.waiter = undefined;
    }
  }
}
