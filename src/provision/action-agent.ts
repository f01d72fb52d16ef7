import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import { compileAgent } from '../builder/compile.js';
import { buildLayout, packageRoot } from '../builder/layout.js';
import { TsxHvError } from '../errors.js';
import type { Target } from './target.js';
import type { ActionPlan, Operation } from './types.js';
import { ADMIN_UNIT_DIR, UNIT_LINK_TREES, enablingLinks } from './units.js';
import { snapshotTree } from './snapshot.js';

/**
 * The agent action (`--agent`): install the tsx-hv guest agent (images/agent, a static binary)
 * and its systemd unit, and enable the unit, so the guest arms acceleration itself and offers
 * `tsx-hv-agent speed N`. The binary goes where the unit's ExecStart expects it.
 */
export const AGENT_UNIT = 'tsx-hv-agent.service';

export interface AgentSources {
  /** The static agent binary; default build/guest/tsx-hv-agent, built with images/agent/Makefile. */
  binary?: string;
  /** The unit file; default images/agent/tsx-hv-agent.service. */
  unit?: string;
  /**
   * Also serve the request protocol on this serial port (e.g. ttyS0) through
   * tsx-hv-agent-console@.service, for `tsx-hv run`/`test` against the installed system.
   */
  console?: string;
}

export const CONSOLE_UNIT_TEMPLATE = 'tsx-hv-agent-console@.service';

/** A serial port name the console unit can take: ttyS0, ttyUSB1, ttyAMA0. */
export function checkConsoleTty(tty: string): string {
  const name = tty.replace(/^\/dev\//, '');
  if (!/^tty[A-Za-z]+[0-9]+$/.test(name)) throw new TsxHvError('BAD_CONSOLE', `--agent-console takes a serial port such as ttyS0, not ${JSON.stringify(tty)}`);
  return name;
}

/** Build the agent (images/agent/Makefile, via the build module) when no binary was given. */
export async function agentBinary(given?: string): Promise<string> {
  if (given) {
    if (!existsSync(given)) throw new TsxHvError('AGENT_MISSING', `agent binary ${given} does not exist`);
    return resolve(given);
  }
  const layout = buildLayout();
  await compileAgent(layout.source, layout.agent);
  return layout.agent;
}

/** The program a unit's ExecStart runs (prefixes like - @ + ! stripped). */
export function execStartPath(unitText: string): string | null {
  const m = /^ExecStart=[-@+!:]*(\S+)/m.exec(unitText);
  return m && m[1]!.startsWith('/') ? m[1]! : null;
}

export async function planAgent(target: Target, sources: AgentSources = {}): Promise<ActionPlan> {
  const unitFile = sources.unit ?? join(packageRoot(), 'images/agent', AGENT_UNIT);
  if (!existsSync(unitFile)) throw new TsxHvError('AGENT_MISSING', `agent unit file ${unitFile} does not exist`, { hint: 'give one with --agent-unit, or update the tsx-hv checkout (images/agent)' });
  const unit = await readFile(unitFile);
  const installPath = execStartPath(unit.toString('utf8'));
  if (!installPath) throw new TsxHvError('AGENT_MISSING', `${unitFile} has no absolute ExecStart= path`);
  const binary = await readFile(await agentBinary(sources.binary));
  const operations: Operation[] = [
    { op: 'write', action: 'agent', path: installPath, content: binary, mode: 0o755, why: 'tsx-hv guest agent' },
    { op: 'write', action: 'agent', path: posix.join(ADMIN_UNIT_DIR, AGENT_UNIT), content: unit, mode: 0o644, why: 'its systemd unit' },
  ];
  const tree = await snapshotTree(target, ADMIN_UNIT_DIR);
  const notes: ActionPlan['notes'] = [];
  if (enablingLinks(tree, AGENT_UNIT).length === 0) {
    operations.push({ op: 'command', action: 'agent', systemctl: true, argv: ['enable', AGENT_UNIT], touchesTrees: UNIT_LINK_TREES, why: 'start the agent at boot' });
  } else {
    notes.push({ action: 'agent', status: 'unchanged', kind: 'note', subject: AGENT_UNIT, detail: 'already enabled' });
  }
  if (sources.console !== undefined) {
    const tty = checkConsoleTty(sources.console);
    const instance = CONSOLE_UNIT_TEMPLATE.replace('@', `@${tty}`);
    const template = await readFile(join(packageRoot(), 'images/agent', CONSOLE_UNIT_TEMPLATE));
    operations.push({ op: 'write', action: 'agent', path: posix.join(ADMIN_UNIT_DIR, CONSOLE_UNIT_TEMPLATE), content: template, mode: 0o644, why: 'unit serving the agent protocol on a serial port' });
    // An enabled template instance is a link named after the instance, pointing at the template.
    const enabled = [...tree].some(([path, st]) => posix.basename(path) === instance && st.type === 'link' && st.target !== '/dev/null');
    if (!enabled) {
      operations.push({ op: 'command', action: 'agent', systemctl: true, argv: ['enable', instance], touchesTrees: UNIT_LINK_TREES, why: `serve the agent protocol on /dev/${tty} at boot` });
    } else {
      notes.push({ action: 'agent', status: 'unchanged', kind: 'note', subject: instance, detail: 'already enabled' });
    }
  }
  return { operations, notes };
}
