import type { Command } from 'commander';
import { control, parseStatus, speedRequest } from '../control/client.js';
import { parseBaud, serialControl, SERIAL_DEFAULT_BAUD } from '../control/serial.js';
import { UsageError } from '../errors.js';
import type { Register } from './main.js';
import type { Output } from './output.js';

interface CtlFlags {
  socket?: string;
  port?: string;
  baud?: string;
  timeout: string;
}

function request(command: string, value: string | undefined): string {
  switch (command) {
    case 'speed':
      if (value === undefined) throw new UsageError('speed needs a value', 'e.g. `tsx-hv ctl speed 60`, `tsx-hv ctl speed 1/2`');
      return speedRequest(value);
    case 'status':
    case 'arm':
    case 'help':
      if (value !== undefined) throw new UsageError(`${command} takes no value`);
      return command;
    default:
      throw new UsageError(`unknown control command "${command}"`, 'commands: speed N|P/Q, status, arm, help');
  }
}

export const registerCtl: Register = (program: Command, output: () => Output) => {
  program
    .command('ctl')
    .description('control the hypervisor of a running `tsx-hv run`, or of a real machine over a serial cable (--port): speed N|P/Q, status, arm, help')
    .argument('<command>', 'speed, status, arm or help')
    .argument('[value]', 'for speed: 60, 1/2 or 0.5')
    .option('--socket <path>', 'control socket (default: the one the running `tsx-hv run` recorded)')
    .option('--port <device>', 'a serial device wired to the hypervisor port of a machine tsx-hv did not start (e.g. /dev/ttyUSB0)')
    .option('--baud <rate>', `baud rate for --port (default ${SERIAL_DEFAULT_BAUD}, the hypervisor's)`)
    .option('--timeout <seconds>', 'how long to wait for the reply', '10')
    .addHelpText('after', '\nExamples:\n  $ tsx-hv ctl speed 60\n  $ tsx-hv ctl status --json\n  $ tsx-hv ctl arm\n  $ tsx-hv ctl --port /dev/ttyUSB0 speed 10\n\nExit codes: 0 ok, 1 refused by the hypervisor (err reply) or no running machine, 2 usage, 124 timeout.')
    .action(async (command: string, value: string | undefined, flags: CtlFlags) => {
      const out = output();
      const line = request(command, value);
      const timeoutMs = Number(flags.timeout) * 1000;
      if (!(timeoutMs > 0)) throw new UsageError(`--timeout must be a positive number of seconds, not "${flags.timeout}"`);
      if (flags.port !== undefined && flags.socket !== undefined) throw new UsageError('--port and --socket are two ways to reach a hypervisor: give one');
      if (flags.baud !== undefined && flags.port === undefined) throw new UsageError('--baud is for --port (a serial device)');
      const reply =
        flags.port !== undefined
          ? await serialControl(flags.port, line, { baud: flags.baud === undefined ? undefined : parseBaud(flags.baud), timeoutMs })
          : await control(line, { socket: flags.socket, timeoutMs });
      if (command === 'status') {
        const doc = parseStatus(reply);
        if (out.json) out.document(doc);
        else for (const [k, v] of Object.entries(doc)) out.info(`${k.padEnd(16)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
        return;
      }
      if (out.json) out.document({ request: line, ok: true, reply: reply.payload });
      else out.info(reply.payload ? `ok ${reply.payload}` : 'ok');
    });
};
