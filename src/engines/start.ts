import { buildLayout } from '../builder/layout.js';
import { UsageError } from '../errors.js';
import { ENGINES, type EngineMachine, type MachineOptions } from './machine.js';
import { startQemu } from './qemu.js';

/** Boots media in an engine (only QEMU TCG so far) and returns the running machine. */
export async function startMachine(opts: MachineOptions = {}): Promise<EngineMachine> {
  const engine = opts.engine ?? 'qemu';
  if (!ENGINES.includes(engine)) throw new UsageError(`unknown engine "${String(engine)}"`, `engines: ${ENGINES.join(', ')}`);
  return startQemu({ ...opts, media: opts.media ?? buildLayout().iso });
}
