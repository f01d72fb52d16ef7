import t from 'tap';
import { createServer, type Server, type Socket } from 'node:net';
import { RfbClient, clientVersion, keyEventMessage, keysym } from '../../../src/engines/rfb.js';
import { TimeoutError, TsxHvError } from '../../../src/errors.js';

t.test('maps the QEMU key names of the hotkeys and the rest of the keyboard to X11 keysyms', async (t) => {
  t.same(['ctrl', 'alt', 'f12'].map(keysym), [0xffe3, 0xffe9, 0xffc9]);
  t.same(['ctrl_r', 'alt_r', 'shift', 'shift_r'].map(keysym), [0xffe4, 0xffea, 0xffe1, 0xffe2]);
  t.same(['f1', 'f9', 'f10', 'f11'].map(keysym), [0xffbe, 0xffc6, 0xffc7, 0xffc8]);
  t.same(['a', 'z', '0', '9'].map(keysym), [0x61, 0x7a, 0x30, 0x39]);
  t.same(['minus', 'equal', 'kp_add', 'kp_subtract', 'kp_0', 'kp_9'].map(keysym), [0x2d, 0x3d, 0xffab, 0xffad, 0xffb0, 0xffb9]);
  t.same(['ret', 'spc', 'esc', 'tab', 'backspace', 'up', 'down'].map(keysym), [0xff0d, 0x20, 0xff1b, 0xff09, 0xff08, 0xff52, 0xff54]);
});

t.test('refuses keys Bochs cannot type, naming them', async (t) => {
  for (const name of ['meta_l', 'f13', 'f0', 'A', 'plus', '']) t.throws(() => keysym(name), { code: 'RFB_KEYS', message: `Bochs' RFB display has no key "${name}"` }, name);
});

t.test('a KeyEvent is type 4, the down flag, padding and the keysym', async (t) => {
  t.same([...keyEventMessage(0xffc9, true)], [4, 1, 0, 0, 0x00, 0x00, 0xff, 0xc9]);
  t.same([...keyEventMessage(0x61, false)], [4, 0, 0, 0, 0, 0, 0, 0x61]);
});

t.test('answers a server with its own version, at most 3.8', async (t) => {
  t.equal(clientVersion('RFB 003.003\n'), '3.3');
  t.equal(clientVersion('RFB 003.005\n'), '3.3', 'unknown minors are 3.3 (RFC 6143, 7.1.1)');
  t.equal(clientVersion('RFB 003.007\n'), '3.7');
  t.equal(clientVersion('RFB 003.008\n'), '3.8');
  t.equal(clientVersion('RFB 004.001\n'), '3.8');
  t.throws(() => clientVersion('SSH-2.0-Open'), /not an RFB server greeting/);
  t.throws(() => clientVersion('RFB 002.000\n'), /too old/);
});

type Script = (socket: Socket, read: (n: number) => Promise<Buffer>) => Promise<void>;

interface FakeServer {
  port: number;
  /** What the script read from the client, read by read. */
  reads: Buffer[];
  /** Every byte the client sent after the script finished. */
  received: () => Promise<Buffer>;
  sockets: Socket[];
}

/** A one-connection RFB server that runs `script`, then records every byte the client sends. */
async function fakeServer(t: { teardown(fn: () => unknown): void }, script: Script): Promise<FakeServer> {
  const sockets: Socket[] = [];
  const reads: Buffer[] = [];
  let afterScript = Buffer.alloc(0);
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    let buffered = Buffer.alloc(0);
    let wake: (() => void) | undefined;
    let scripted = false;
    socket.on('data', (d: Buffer) => {
      if (scripted) afterScript = Buffer.concat([afterScript, d]);
      else buffered = Buffer.concat([buffered, d]);
      wake?.();
    });
    socket.on('error', () => undefined);
    const read = async (n: number): Promise<Buffer> => {
      while (buffered.length < n) await new Promise<void>((r) => (wake = r));
      const out = buffered.subarray(0, n);
      buffered = buffered.subarray(n);
      reads.push(out);
      return out;
    };
    void script(socket, read).then(() => {
      scripted = true;
      afterScript = Buffer.concat([buffered, afterScript]);
      done();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  const received = async (): Promise<Buffer> => {
    await finished;
    await new Promise((r) => setTimeout(r, 100));
    return afterScript;
  };
  return { port, reads, received, sockets };
}

/** ServerInit: 720x498, a pixel format, and the desktop name. */
function serverInit(name: string): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt16BE(720, 0);
  head.writeUInt16BE(498, 2);
  head.writeUInt32BE(name.length, 20);
  return Buffer.concat([head, Buffer.from(name)]);
}

/** What Bochs 2.7's server does: 3.3, security None as a u32, then ServerInit and unasked-for screen updates. */
const bochsLike: Script = async (socket, read) => {
  socket.write('RFB 003.003\n');
  await read(12);
  socket.write(Buffer.from([0, 0, 0, 1]));
  await read(1);
  socket.write(serverInit('Bochs-RFB'));
  socket.write(Buffer.alloc(64 * 1024, 0x55));
};

t.test('against a Bochs-like 3.3 server: handshake, then key presses held and released in reverse', async (t) => {
  const server = await fakeServer(t, bochsLike);
  const client = await RfbClient.connect('127.0.0.1', server.port);
  t.teardown(() => client.close());
  t.equal(client.name, 'Bochs-RFB');
  t.same(server.reads.map((b) => b.toString('latin1')), ['RFB 003.003\n', '\u0001'], 'version 3.3, then ClientInit asking for a shared session');
  await client.sendKeys(['ctrl', 'alt', 'f12'], 10);
  const sent = await server.received();
  const events = Array.from({ length: sent.length / 8 }, (_, i) => sent.subarray(i * 8, i * 8 + 8)).map((m) => [m[0], m[1], m.readUInt32BE(4)]);
  t.same(events, [
    [4, 1, 0xffe3],
    [4, 1, 0xffe9],
    [4, 1, 0xffc9],
    [4, 0, 0xffc9],
    [4, 0, 0xffe9],
    [4, 0, 0xffe3],
  ]);
  await t.rejects(client.sendKeys([]), /no keys to send/);
  await t.rejects(client.sendKeys(['meta_l']), /no key "meta_l"/);
});

t.test('3.8 and 3.7 servers: security list with None, and 3.8 its result', async (t) => {
  for (const minor of ['8', '7']) {
    const server = await fakeServer(t, async (socket, read) => {
      socket.write(`RFB 003.00${minor}\n`);
      await read(12);
      socket.write(Buffer.from([2, 2, 1]));
      await read(1);
      if (minor === '8') socket.write(Buffer.from([0, 0, 0, 0]));
      await read(1);
      socket.write(serverInit('x'));
    });
    const client = await RfbClient.connect('127.0.0.1', server.port);
    t.equal(client.name, 'x', `3.${minor}`);
    t.same(server.reads.map((b) => b.toString('latin1')), [`RFB 003.00${minor}\n`, '\u0001', '\u0001'], `3.${minor}: the version, None, shared`);
    client.close();
  }
});

t.test('servers that refuse or want a password are errors that say so', async (t) => {
  const reason = (text: string): Buffer => Buffer.concat([Buffer.from([0, 0, 0, text.length]), Buffer.from(text)]);
  const cases: Array<[string, Script, RegExp]> = [
    ['3.3 refusal', async (s) => void s.write(Buffer.concat([Buffer.from('RFB 003.003\n'), Buffer.from([0, 0, 0, 0]), reason('too many')])), /refused the connection: too many/],
    ['3.3 VNC authentication', async (s) => void s.write(Buffer.concat([Buffer.from('RFB 003.003\n'), Buffer.from([0, 0, 0, 2])])), /security type 2; only None/],
    ['3.8 refusal', async (s) => void s.write(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([0]), reason('busy')])), /refused the connection: busy/],
    ['3.8 without None', async (s) => void s.write(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 2])])), /offers security types 2; only None/],
    [
      '3.8 failed security result',
      async (s, read) => {
        s.write(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.from([1, 1])]));
        await read(13);
        s.write(Buffer.concat([Buffer.from([0, 0, 0, 1]), reason('no')]));
      },
      /refused security type None: no/,
    ],
    ['not RFB', async (s) => void s.write('SSH-2.0-OpenSSH\n'), /not an RFB server greeting/],
    ['closed early', async (s) => void s.end('RFB 003.0'), /closed the connection/],
  ];
  for (const [name, script, message] of cases) {
    const server = await fakeServer(t, script);
    const err = await RfbClient.connect('127.0.0.1', server.port).catch((e: unknown) => e);
    t.type(err, TsxHvError, name);
    t.match((err as Error).message, message, name);
  }
});

t.test('a server that never greets times out; nobody listening is an error', async (t) => {
  const server = await fakeServer(t, () => new Promise(() => undefined));
  await t.rejects(RfbClient.connect('127.0.0.1', server.port, 200), TimeoutError);
  await t.rejects(RfbClient.connect('127.0.0.1', 1, 2000), /ECONNREFUSED/);
});

t.test('keys after the server went away fail with a message', async (t) => {
  const server = await fakeServer(t, bochsLike);
  const client = await RfbClient.connect('127.0.0.1', server.port);
  for (const s of server.sockets) s.destroy();
  await new Promise((r) => setTimeout(r, 100));
  await t.rejects(client.sendKeys(['a'], 1), /cannot send keys to the RFB server/);
});
