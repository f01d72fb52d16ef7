import { join } from 'node:path';
import { clearRunState, runStatePath, writeRunState } from '../control/run-state.js';
import { noHypervisor, startControlProxy, type ControlProxy } from '../control/proxy.js';
import type { EngineMachine, MachineOptions } from './machine.js';
import { startMachine } from './start.js';

export interface Session {
  machine: EngineMachine;
  /** The control socket `tsx-hv ctl` uses (relayed to the hypervisor port). */
  control: string;
  /** The run state file that lets `tsx-hv ctl` find this session. */
  statePath: string;
  /** Stops relaying and forgets the state file (does not stop the machine). */
  close(): Promise<void>;
}

/**
 * An interactive machine: boots it, relays the control protocol on <workdir>/control.sock and
 * records the session in the run state file for `tsx-hv ctl`.
 */
export async function startSession(opts: MachineOptions & { statePath?: string } = {}): Promise<Session> {
  const machine = await startMachine(opts);
  const statePath = opts.statePath ?? runStatePath();
  let proxy: ControlProxy;
  try {
    proxy = await startControlProxy(join(machine.paths.workdir, 'control.sock'), machine.hypervisor ? (line) => machine.control(line) : noHypervisor);
    await writeRunState(
      {
        pid: process.pid,
        startedAt: new Date().toISOString(),
        engine: machine.engine,
        control: proxy.path,
        hv: machine.paths.hv,
        qmp: machine.paths.qmp,
        console: machine.paths.console,
        workdir: machine.paths.workdir,
        hypervisor: machine.hypervisor,
        media: opts.media ?? '',
      },
      statePath,
    );
  } catch (err) {
    await machine.kill();
    throw err;
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await proxy.close();
    await clearRunState(process.pid, statePath);
  };
  void machine.exited.then(close);
  return { machine, control: proxy.path, statePath, close };
}
