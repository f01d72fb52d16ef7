/**
 * Keys for Bochs through its display: a minimal RFB (VNC) client, RFC 6143. It speaks protocol
 * 3.3, 3.7 or 3.8 with security type None, asks for a shared session, and then only sends
 * KeyEvent messages. Whatever the server sends after the handshake (Bochs pushes framebuffer
 * updates without being asked) is read and dropped: a full socket would block Bochs' emulation
 * thread, which writes the updates.
 */
import { connect, type Socket } from 'node:net';
import { TimeoutError, TsxHvError } from '../errors.js';

/**
 * X11 keysyms (X11/keysymdef.h) for the QEMU key names (qcodes) tsx-hv uses, limited to the keys
 * Bochs 2.7's RFB display understands (rfbKeyPressed in gui/rfb.cc): printable ASCII, the
 * function, editing, cursor and keypad keys, and both Shift, Ctrl and Alt keys. It has none for
 * the Windows (meta) keys.
 */
const NAMED_KEYSYMS: Readonly<Record<string, number>> = {
  shift: 0xffe1,
  shift_r: 0xffe2,
  ctrl: 0xffe3,
  ctrl_r: 0xffe4,
  alt: 0xffe9,
  alt_r: 0xffea,
  caps_lock: 0xffe5,
  num_lock: 0xff7f,
  scroll_lock: 0xff14,
  esc: 0xff1b,
  tab: 0xff09,
  ret: 0xff0d,
  backspace: 0xff08,
  delete: 0xffff,
  insert: 0xff63,
  home: 0xff50,
  end: 0xff57,
  pgup: 0xff55,
  pgdn: 0xff56,
  left: 0xff51,
  up: 0xff52,
  right: 0xff53,
  down: 0xff54,
  print: 0xff61,
  pause: 0xff13,
  spc: 0x20,
  minus: 0x2d,
  equal: 0x3d,
  comma: 0x2c,
  dot: 0x2e,
  slash: 0x2f,
  semicolon: 0x3b,
  apostrophe: 0x27,
  grave_accent: 0x60,
  backslash: 0x5c,
  bracket_left: 0x5b,
  bracket_right: 0x5d,
  kp_add: 0xffab,
  kp_subtract: 0xffad,
  kp_multiply: 0xffaa,
  kp_divide: 0xffaf,
  kp_enter: 0xff8d,
  kp_decimal: 0xffae,
};

const XK_F1 = 0xffbe;
const XK_KP_0 = 0xffb0;

/** The keysym of a QEMU key name; a TsxHvError names keys Bochs' display cannot type. */
export function keysym(name: string): number {
  const named = NAMED_KEYSYMS[name];
  if (named !== undefined) return named;
  if (/^[a-z0-9]$/.test(name)) return name.charCodeAt(0);
  const f = /^f([1-9]|1[0-2])$/.exec(name);
  if (f) return XK_F1 + Number(f[1]) - 1;
  const kp = /^kp_([0-9])$/.exec(name);
  if (kp) return XK_KP_0 + Number(kp[1]);
  throw new TsxHvError('RFB_KEYS', `Bochs' RFB display has no key "${name}"`, {
    hint: 'use QEMU key names: a-z, 0-9, f1-f12, ctrl, alt, shift (and _r), ret, spc, esc, tab, minus, equal, kp_add, up, down, ...',
  });
}

/** RFB KeyEvent (message type 4): down flag, two bytes of padding, the keysym. */
export function keyEventMessage(sym: number, down: boolean): Buffer {
  const m = Buffer.alloc(8);
  m.writeUInt8(4, 0);
  m.writeUInt8(down ? 1 : 0, 1);
  m.writeUInt32BE(sym, 4);
  return m;
}

/** The version this client answers a server's ProtocolVersion with: the server's, at most 3.8. */
export function clientVersion(server: string): '3.3' | '3.7' | '3.8' {
  const m = /^RFB (\d{3})\.(\d{3})\n$/.exec(server);
  if (!m) throw new TsxHvError('RFB_PROTOCOL', `not an RFB server greeting: ${JSON.stringify(server)}`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < 3) throw new TsxHvError('RFB_PROTOCOL', `RFB ${major}.${minor} is too old`);
  if (major > 3 || minor >= 8) return '3.8';
  return minor === 7 ? '3.7' : '3.3';
}

const SECURITY_NONE = 1;

/** Reads exact byte counts from a socket; anything read after the handshake is dropped. */
class Reader {
  private buffered: Buffer[] = [];
  private size = 0;
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private draining = false;

  constructor(socket: Socket) {
    socket.on('data', (d: Buffer) => {
      if (this.draining) return;
      this.buffered.push(d);
      this.size += d.length;
      this.wake?.();
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      this.wake?.();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new TsxHvError('RFB_PROTOCOL', 'the RFB server closed the connection')));
  }

  async read(n: number): Promise<Buffer> {
    while (this.size < n) {
      if (this.failure) throw this.failure;
      await new Promise<void>((r) => (this.wake = r));
    }
    const all = Buffer.concat(this.buffered);
    this.buffered = [all.subarray(n)];
    this.size = all.length - n;
    return all.subarray(0, n);
  }

  /** From now on, drop everything the server sends. */
  drain(): void {
    this.draining = true;
    this.buffered = [];
    this.size = 0;
  }
}

async function failureReason(reader: Reader): Promise<string> {
  const length = (await reader.read(4)).readUInt32BE(0);
  return (await reader.read(Math.min(length, 4096))).toString('utf8');
}

/** ProtocolVersion, security (None only), ClientInit (shared) and ServerInit; returns the desktop name. */
async function handshake(socket: Socket, reader: Reader): Promise<string> {
  const version = clientVersion((await reader.read(12)).toString('latin1'));
  socket.write(`RFB 003.00${version.slice(2)}\n`);
  if (version === '3.3') {
    const type = (await reader.read(4)).readUInt32BE(0);
    if (type === 0) throw new TsxHvError('RFB_PROTOCOL', `the RFB server refused the connection: ${await failureReason(reader)}`);
    if (type !== SECURITY_NONE) throw new TsxHvError('RFB_PROTOCOL', `the RFB server wants security type ${type}; only None (1) is supported`);
  } else {
    const count = (await reader.read(1)).readUInt8(0);
    if (count === 0) throw new TsxHvError('RFB_PROTOCOL', `the RFB server refused the connection: ${await failureReason(reader)}`);
    const types = [...(await reader.read(count))];
    if (!types.includes(SECURITY_NONE)) throw new TsxHvError('RFB_PROTOCOL', `the RFB server offers security types ${types.join(', ')}; only None (1) is supported`);
    socket.write(Buffer.from([SECURITY_NONE]));
    if (version === '3.8' && (await reader.read(4)).readUInt32BE(0) !== 0) {
      throw new TsxHvError('RFB_PROTOCOL', `the RFB server refused security type None: ${await failureReason(reader)}`);
    }
  }
  socket.write(Buffer.from([1]));
  const serverInit = await reader.read(24);
  return (await reader.read(serverInit.readUInt32BE(20))).toString('utf8');
}

export class RfbClient {
  private constructor(
    private readonly socket: Socket,
    /** The server's desktop name (Bochs: "Bochs-RFB"). */
    readonly name: string,
  ) {}

  /** Connects and completes the handshake within `timeoutMs`. */
  static async connect(host: string, port: number, timeoutMs = 10_000): Promise<RfbClient> {
    const socket = connect(port, host);
    socket.setNoDelay(true);
    const reader = new Reader(socket);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`the RFB server at ${host}:${port} did not complete its handshake within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const name = await Promise.race([handshake(socket, reader), timeout]);
      reader.drain();
      return new RfbClient(socket, name);
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Presses the keys in order, holds them `holdTimeMs`, releases them in reverse order. */
  async sendKeys(keys: readonly string[], holdTimeMs = 100): Promise<void> {
    if (keys.length === 0) throw new TsxHvError('RFB_KEYS', 'no keys to send');
    const syms = keys.map(keysym);
    await this.write(Buffer.concat(syms.map((s) => keyEventMessage(s, true))));
    await new Promise((r) => setTimeout(r, holdTimeMs));
    await this.write(Buffer.concat(syms.reverse().map((s) => keyEventMessage(s, false))));
  }

  private write(data: Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.socket.write(data, (err) => (err ? reject(new TsxHvError('RFB_PROTOCOL', `cannot send keys to the RFB server: ${err.message}`)) : resolve()));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
