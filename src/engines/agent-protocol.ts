import { TsxHvError } from '../errors.js';

/**
 * The guest agent's console protocol (COMMON contract; images/agent/requests.h). Requests are
 * `@<id> <command> [args]`; the reply is one line `@<id> ok <payload>` or `@<id> err <message>`.
 * Kernel messages may be interleaved on the same console, so replies are matched by id and every
 * other line is ignored.
 */
export interface AgentReply {
  id: string;
  ok: boolean;
  payload: string;
}

export interface AgentReady {
  version: number;
  hypervisor: string | null;
  vendor: string;
  clocksource: string;
  uptime_ms: number;
}

export interface ClockSample {
  monoNs: bigint;
  realNs: bigint;
  tsc: bigint;
  /** Under tsx-hv: the tag of the MARK hypercall made right after the readings; the hypervisor
   * logs `mark TAG cpu N real R virtual V` on its port (the machine's real TSC at that moment). */
  mark?: bigint;
}

export interface ExecResult {
  exitCode: number;
  output: string;
  /** Output bytes beyond the agent's 64 KiB cap, not in `output` (agents that report it). */
  droppedBytes?: number;
}

/** An `err` reply from the agent. */
export class AgentError extends TsxHvError {
  constructor(
    readonly command: string,
    readonly reason: string,
  ) {
    super('AGENT_ERROR', `guest agent refused "${command}": ${reason}`);
    this.name = 'AgentError';
  }
}

const ID = /^[A-Za-z0-9_-]{1,32}$/;
const READY_PREFIX = 'tsx-hv-agent: ready ';

export function formatRequest(id: string, command: string): string {
  if (!ID.test(id)) throw new RangeError(`invalid agent request id ${JSON.stringify(id)}`);
  if (/[\r\n]/.test(command) || command.trim() === '') throw new RangeError('an agent command is one non-empty line');
  return `@${id} ${command}\n`;
}

/** The reply in a console line, or undefined when the line is not a reply. */
export function parseReply(line: string): AgentReply | undefined {
  const m = /^@([A-Za-z0-9_-]{1,32}) (ok|err)(?: (.*))?$/.exec(line.replace(/\r$/, ''));
  if (!m) return undefined;
  return { id: m[1]!, ok: m[2] === 'ok', payload: m[3] ?? '' };
}

/** The agent's ready document in a console line (it may follow other output on that line). */
export function parseReady(line: string): AgentReady | undefined {
  const at = line.indexOf(READY_PREFIX);
  if (at < 0) return undefined;
  try {
    const doc = JSON.parse(line.slice(at + READY_PREFIX.length)) as AgentReady;
    return typeof doc === 'object' && doc !== null && typeof doc.version === 'number' ? doc : undefined;
  } catch {
    return undefined;
  }
}

function fields(payload: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const word of payload.split(' ')) {
    const eq = word.indexOf('=');
    if (eq > 0) out.set(word.slice(0, eq), word.slice(eq + 1));
  }
  return out;
}

function required(map: Map<string, string>, key: string, payload: string): string {
  const v = map.get(key);
  if (v === undefined) throw new TsxHvError('AGENT_PROTOCOL', `agent reply "${payload}" has no ${key}=`);
  return v;
}

function integer(text: string, key: string): bigint {
  if (!/^\d+$/.test(text)) throw new TsxHvError('AGENT_PROTOCOL', `agent reply field ${key}=${text} is not an unsigned integer`);
  return BigInt(text);
}

/** `mono=<ns> real=<ns> tsc=<u64>` */
export function parseClock(payload: string): ClockSample {
  const f = fields(payload);
  return {
    monoNs: integer(required(f, 'mono', payload), 'mono'),
    realNs: integer(required(f, 'real', payload), 'real'),
    tsc: integer(required(f, 'tsc', payload), 'tsc'),
    ...(f.has('mark') ? { mark: integer(f.get('mark') as string, 'mark') } : {}),
  };
}

export function execRequest(shellCommand: string): string {
  return `exec ${Buffer.from(shellCommand, 'utf8').toString('base64')}`;
}

/**
 * `exit=<code> len=<bytes> dropped=<bytes> out=<base64>` (agents before len= send neither;
 * dropped= is the output beyond the agent's cap). The kernel writes
 * its messages to the same serial console at any moment, also into the middle of a reply line;
 * the reply then ends at the first space of the message, with valid but truncated base64. len=
 * tells that apart: such a reply is an AGENT_GARBLED error, never silently shortened output.
 */
export function parseExec(payload: string): ExecResult {
  const f = fields(payload);
  const code = required(f, 'exit', payload);
  const out = required(f, 'out', payload);
  const len = f.get('len');
  if (!/^\d+$/.test(code) || !/^[A-Za-z0-9+/]*={0,2}$/.test(out) || (len !== undefined && !/^\d+$/.test(len))) {
    throw new TsxHvError('AGENT_PROTOCOL', `malformed exec reply "${payload.length > 200 ? `${payload.slice(0, 200)}...` : payload}"`);
  }
  const bytes = Buffer.from(out, 'base64');
  if (len !== undefined && bytes.length !== Number(len)) {
    throw new TsxHvError('AGENT_GARBLED', `the guest agent's exec reply was cut short on the console (${bytes.length} of ${len} bytes): kernel messages interleaved with it`, { hint: "the command ran; run it again, or lower the guest's console loglevel" });
  }
  const dropped = f.get('dropped');
  const result: ExecResult = { exitCode: Number(code), output: bytes.toString('utf8') };
  if (dropped !== undefined && /^\d+$/.test(dropped) && Number(dropped) > 0) result.droppedBytes = Number(dropped);
  return result;
}
