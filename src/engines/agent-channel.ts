import { TimeoutError } from '../errors.js';
import { AgentError, formatRequest, parseReply } from './agent-protocol.js';

interface Pending {
  command: string;
  resolve: (payload: string) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Record separator (Ctrl-^) before every request: while the agent relays an interactive shell on
 * the console, only lines starting with it reach the agent (images/agent/shell.h).
 */
export const REQUEST_MARK = '\u001e';

/**
 * Request/reply with the guest agent over the console: numbered requests, replies matched by id
 * (other console lines are ignored), each request with its own timeout.
 */
export class AgentChannel {
  private next = 1;
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly write: (text: string) => void) {}

  /** Feed every console line here. */
  line(line: string): void {
    const reply = parseReply(line);
    if (!reply) return;
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    clearTimeout(p.timer);
    if (reply.ok) p.resolve(reply.payload);
    else p.reject(new AgentError(p.command, reply.payload));
  }

  /** Sends `command`; resolves with the reply payload, rejects with AgentError on `err`. */
  request(command: string, timeoutMs: number): Promise<string> {
    const id = `h${this.next++}`;
    const text = formatRequest(id, command);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TimeoutError(`the guest agent did not answer "${command.split(' ')[0]}" within ${timeoutMs} ms`, 'is the guest up? (`tsx-hv run --smoke`)'));
      }, timeoutMs);
      this.pending.set(id, { command: command.split(' ')[0]!, resolve, reject, timer });
      this.write(REQUEST_MARK + text);
    });
  }

  /** Fails every outstanding request (the machine went away). */
  close(reason: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(reason);
    }
  }
}
