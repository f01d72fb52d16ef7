import { createServer, type Server } from 'node:net';
import { rm } from 'node:fs/promises';
import { LineSplitter } from '../engines/lines.js';
import type { TsxHvError } from '../errors.js';

/**
 * `tsx-hv run` holds the emulator's only connection to the hypervisor port, so it relays the
 * control protocol from its own unix socket: one request line in, the hypervisor's reply line
 * out, in order. Errors that happen on the host side are answered in the same shape:
 * `err no-hypervisor ...`, `err timeout ...`, `err bad-request ...`, `err machine-gone ...`.
 */
export type ControlSender = (line: string) => Promise<string>;

export function errorReply(err: unknown): string {
  const e = err as TsxHvError;
  const code = e?.code === 'TIMEOUT' ? 'timeout' : e?.code === 'CONTROL_PROTOCOL' ? 'bad-request' : e?.code === 'ENGINE_EXITED' ? 'machine-gone' : 'relay-failed';
  return `err ${code} ${String(e?.message ?? err).replace(/\s+/g, ' ')}`;
}

export interface ControlProxy {
  path: string;
  close(): Promise<void>;
}

export async function startControlProxy(path: string, send: ControlSender): Promise<ControlProxy> {
  await rm(path, { force: true });
  const server: Server = createServer((socket) => {
    socket.setEncoding('utf8');
    let chain = Promise.resolve();
    const lines = new LineSplitter((line) => {
      chain = chain.then(async () => {
        const reply = await send(line).catch(errorReply);
        if (!socket.destroyed) socket.write(reply.replace(/[\r\n]+/g, ' ') + '\n');
      });
    }, 4096);
    socket.on('data', (d: string) => lines.push(d));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        void rm(path, { force: true });
      }),
  };
}

/** The sender for a machine that was booted without the hypervisor. */
export const noHypervisor: ControlSender = async () => 'err no-hypervisor the machine was started with --no-hypervisor';
