import { join, resolve } from 'node:path';
import { packageRoot } from '../builder/layout.js';
import { TsxHvError } from '../errors.js';
import { agentBinary } from '../provision/action-agent.js';
import { hypervisorImage } from '../provision/action-hypervisor.js';
import { runPlaybook, type AnsibleEvent, type Playbook } from './ansible.js';
import { readInventory, selectHosts, type Inventory } from './inventory.js';
import { FINISHED, JournalWriter, defaultJournalPath, lastResults, readJournal } from './journal.js';
import { DEFAULT_WAVES, cutWaves, type WaveSize } from './waves.js';

/**
 * `tsx-hv fleet plan|rollout|status|rollback`: the package's Ansible playbooks (ansible/) run
 * on an inventory, their events folded into one outcome per host. Ansible does the fan-out, the
 * ssh connections, the waves (serial) and the failure threshold (max_fail_percentage); this
 * module checks the inventory first, keeps the journal, and reports.
 */

/** Where a host ended up. */
export type HostResult =
  | 'done' // rolled out: the tsx-hv entry is its default and the health check passed
  | 'already' // it already ran under tsx-hv from its default entry: left alone
  | 'rolled-back' // a step failed; the host was returned to its previous boot
  | 'failed' // a step failed and the rollback did not finish either (see reason)
  | 'refused' // the host cannot run tsx-hv (reason)
  | 'unreachable' // ssh did not reach it
  | 'pending' // the rollout stopped before its wave
  | 'skipped' // finished in an earlier run (journal)
  | 'fit' // plan: would be rolled out
  | 'untouched' // rollback: provision had never changed it
  | 'trial' // status: runs under tsx-hv, entry not the default
  | 'provisioned'; // status: provisioned, not running under tsx-hv

export interface HostOutcome {
  host: string;
  result: HostResult;
  wave?: number;
  /** The step that failed. */
  step?: string;
  reason?: string;
  /** Measured speed of the health check, and the speed asked for. */
  speed?: number;
  requested?: number;
  /** Seconds the trial reboot took, until ssh answered again. */
  bootS?: number;
  notes?: string[];
  facts?: Record<string, unknown>;
  /** status: the journal's last result for the host. */
  journal?: { result: string; run: string; speed?: number };
  /** Seconds from the host's first to its last step in this run. */
  durationS?: number;
}

export interface FleetOptions {
  inventory: string;
  limit?: string;
  forks?: number;
  /** -e values passed to ansible-playbook as written. */
  extraVars?: readonly string[];
  /** Ansible's output; default: beside the journal, INVENTORY.tsx-hv-ansible.log. */
  log?: string;
  /** Copy Ansible's output here too. */
  echo?: NodeJS.WritableStream;
  /** Every event as it arrives (NDJSON output, progress lines). */
  onEvent?: (e: AnsibleEvent) => void;
  signal?: AbortSignal;
}

export interface RolloutOptions extends FleetOptions {
  waves?: readonly WaveSize[];
  maxFailPercent?: number;
  journal?: string;
  /** Ignore the journal: every host of the limit takes part again. */
  restart?: boolean;
}

export interface FleetReport {
  command: 'plan' | 'rollout' | 'status' | 'rollback';
  inventory: string;
  journal?: string;
  log: string;
  hosts: HostOutcome[];
  /** plan: the predicted waves of the fit hosts. rollout: the waves as they ran. */
  waves?: string[][];
  /** rollout: the hosts the journal says were finished before this run. */
  resumed?: string[];
  /** rollout: it stopped before its last wave (the failure threshold). */
  stopped?: boolean;
  passed: boolean;
  exitCode: number;
  durationS: number;
}

const CLI = (): string[] => [process.execPath, join(packageRoot(), 'bin', 'tsx-hv.js')];

function num(v: unknown): number | undefined {
  if (v === null || v === undefined || v === '' || v === 'None') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Folds a run's events into one outcome per host. */
export class Outcomes {
  readonly byHost = new Map<string, HostOutcome>();
  private firstAt = new Map<string, number>();
  readonly waves: string[][] = [];
  unreachable: { host: string; msg: string }[] = [];

  constructor(readonly hosts: readonly string[]) {}

  private get(host: string): HostOutcome {
    let o = this.byHost.get(host);
    if (!o) this.byHost.set(host, (o = { host, result: 'pending' }));
    return o;
  }

  add(e: AnsibleEvent): void {
    if (!e.host) return;
    const o = this.get(e.host);
    if (!this.firstAt.has(e.host)) this.firstAt.set(e.host, e.time);
    o.durationS = Math.round((e.time - this.firstAt.get(e.host)!) * 10) / 10;
    if (typeof e.wave === 'number') {
      o.wave = e.wave;
      const w = (this.waves[e.wave - 1] ??= []);
      if (!w.includes(e.host)) w.push(e.host);
    }
    if (e.event === 'step') {
      if (e.status === 'unreachable') {
        this.unreachable.push({ host: e.host, msg: e.msg ?? '' });
        o.result = 'unreachable';
        o.step = e.step;
        o.reason = e.msg;
      } else if (e.status === 'failed' && e.step !== 'failed') {
        // A failure the role's rescue will report as rolled-back; if the rescue fails too, this stays.
        if (o.result !== 'rolled-back') {
          o.result = 'failed';
          o.step = e.step;
          o.reason = e.msg;
        }
      }
      const facts = e.data?.facts;
      if (facts && typeof facts === 'object') o.facts = facts as Record<string, unknown>;
      return;
    }
    if (e.event === 'result') {
      o.result = (e.result as HostResult) ?? o.result;
      if (e.step) o.step = e.step as string;
      o.reason = (e.reason as string) || undefined;
      if (o.result === 'done' || o.result === 'already') {
        o.step = undefined;
        o.reason = undefined;
      }
      o.speed = num(e.speed) ?? o.speed;
      o.requested = num(e.requested) ?? o.requested;
      o.bootS = num(e.boot_s) ?? o.bootS;
      if (Array.isArray(e.notes) && e.notes.length) o.notes = e.notes as string[];
      if (e.facts && typeof e.facts === 'object') o.facts = e.facts as Record<string, unknown>;
    }
  }

  /** The hosts of each wave that ran, in inventory order (events arrive in whatever order Ansible's forks finish). */
  orderedWaves(): string[][] {
    const at = (h: string): number => this.hosts.indexOf(h);
    return this.waves.map((w) => [...w].sort((a, b) => at(a) - at(b)));
  }

  list(): HostOutcome[] {
    return this.hosts.map((h) => this.byHost.get(h) ?? { host: h, result: 'pending' as const });
  }
}

function baseVars(): Record<string, unknown> {
  return { tsx_hv_cli: CLI() };
}

function logPath(o: FleetOptions): string {
  return resolve(o.log ?? defaultJournalPath(o.inventory).replace(/journal\.ndjson$/, 'ansible.log'));
}

async function playbook(name: Playbook, inv: Inventory, o: FleetOptions, vars: Record<string, unknown>, limit: string | undefined, onEvent: (e: AnsibleEvent) => void): Promise<number> {
  const exit = await runPlaybook({
    playbook: name,
    inventory: inv.path,
    limit,
    extraVars: { ...baseVars(), ...vars },
    userExtraVars: o.extraVars,
    forks: o.forks,
    log: logPath(o),
    echo: o.echo,
    signal: o.signal,
    onEvent: (e) => {
      onEvent(e);
      o.onEvent?.(e);
    },
  });
  return exit.exitCode;
}

/** ansible-playbook exit codes (ansible/cli/__init__.py): 4 unreachable, 1/2 failures, 3... others. */
function failedBeforeAnyHost(code: number, outcomes: Outcomes, log: string): void {
  if (code !== 0 && outcomes.byHost.size === 0) {
    throw new TsxHvError('ANSIBLE_FAILED', `ansible-playbook failed (exit ${code}) before reaching any host`, { hint: `its output is in ${log}` });
  }
}

function unreachableError(outcomes: Outcomes, changed: string): TsxHvError {
  const list = outcomes.unreachable.map((u) => `${u.host} (${u.msg.trim().split('\n').pop()})`).join('; ');
  return new TsxHvError('UNREACHABLE', `unreachable: ${list}; ${changed}`, { hint: 'fix the host or its inventory entry (ansible_host, ansible_port, ansible_user, key), or leave it out with --limit \'all:!HOST\'' });
}

function limitOf(hosts: readonly string[], all: readonly string[]): string | undefined {
  return hosts.length === all.length ? undefined : hosts.join(',');
}

export async function fleetPlan(o: FleetOptions & { waves?: readonly WaveSize[] }): Promise<FleetReport> {
  const t0 = Date.now();
  const inv = await readInventory(o.inventory, o.signal);
  const hosts = selectHosts(inv, o.limit);
  const outcomes = new Outcomes(hosts);
  const code = await playbook('plan', inv, o, {}, limitOf(hosts, inv.hosts), (e) => outcomes.add(e));
  failedBeforeAnyHost(code, outcomes, logPath(o));
  const list = outcomes.list();
  const fit = list.filter((h) => h.result === 'fit').map((h) => h.host);
  const waves = cutWaves(fit, o.waves ?? DEFAULT_WAVES);
  waves.forEach((w, i) => w.forEach((h) => (outcomes.byHost.get(h)!.wave = i + 1)));
  const passed = list.every((h) => h.result === 'fit' || h.result === 'already');
  return { command: 'plan', inventory: inv.path, log: logPath(o), hosts: list, waves, passed, exitCode: passed ? 0 : 1, durationS: (Date.now() - t0) / 1000 };
}

export async function fleetRollout(o: RolloutOptions): Promise<FleetReport> {
  const t0 = Date.now();
  const inv = await readInventory(o.inventory, o.signal);
  const wanted = selectHosts(inv, o.limit);
  const journalPath = resolve(o.journal ?? defaultJournalPath(o.inventory));
  const previous = o.restart ? new Map() : lastResults(await readJournal(journalPath));
  const resumed = wanted.filter((h) => FINISHED.has(String(previous.get(h)?.result)));
  const hosts = wanted.filter((h) => !resumed.includes(h));
  const run = new Date().toISOString();
  const journal = new JournalWriter(journalPath, run, 'rollout');
  await journal.open();
  const outcomes = new Outcomes(hosts);
  const report = (stopped: boolean): FleetReport => {
    const list = [...outcomes.list(), ...resumed.map((h): HostOutcome => ({ host: h, result: 'skipped', reason: `finished in run ${previous.get(h)!.run}`, speed: num(previous.get(h)!.speed) }))];
    const ok = (h: HostOutcome): boolean => h.result === 'done' || h.result === 'already' || h.result === 'skipped';
    const passed = list.every(ok);
    return { command: 'rollout', inventory: inv.path, journal: journalPath, log: logPath(o), hosts: list, waves: outcomes.orderedWaves(), resumed, stopped, passed, exitCode: passed ? 0 : 1, durationS: (Date.now() - t0) / 1000 };
  };
  if (hosts.length === 0) return report(false);

  // Build the agent and the hypervisor once, here: the role's provision steps then only copy them.
  await agentBinary();
  await hypervisorImage();
  journal.write({ event: 'play', name: 'run', hosts: Object.fromEntries(hosts.map((h) => [h, {}])) });
  const vars: Record<string, unknown> = { tsx_hv_waves: o.waves ?? DEFAULT_WAVES, tsx_hv_max_fail_percent: o.maxFailPercent ?? 10 };
  let code: number;
  try {
    code = await playbook('rollout', inv, o, vars, limitOf(hosts, inv.hosts), (e) => {
      outcomes.add(e);
      if (e.event === 'step' || e.event === 'result') journal.write(e);
    });
  } finally {
    await journal.flush();
  }
  failedBeforeAnyHost(code, outcomes, logPath(o));
  const list = outcomes.list();
  if (outcomes.unreachable.length && outcomes.waves.length === 0) throw unreachableError(outcomes, 'no host was changed (the preflight stops the whole rollout)');
  const inWaves = new Set(outcomes.waves.flat());
  const stopped = list.some((h) => h.result === 'pending' && !inWaves.has(h.host)) && list.some((h) => h.result === 'rolled-back' || h.result === 'failed');
  for (const h of list) if (h.result === 'pending' && stopped) h.reason = 'the rollout stopped before its wave: a wave had more failed hosts than --max-fail allows';
  return report(stopped);
}

export async function fleetRollback(o: FleetOptions & { journal?: string }): Promise<FleetReport> {
  const t0 = Date.now();
  const inv = await readInventory(o.inventory, o.signal);
  const hosts = selectHosts(inv, o.limit);
  const journalPath = resolve(o.journal ?? defaultJournalPath(o.inventory));
  const journal = new JournalWriter(journalPath, new Date().toISOString(), 'rollback');
  await journal.open();
  const outcomes = new Outcomes(hosts);
  let code: number;
  try {
    code = await playbook('rollback', inv, o, {}, limitOf(hosts, inv.hosts), (e) => {
      outcomes.add(e);
      if (e.event === 'step' || e.event === 'result') journal.write(e);
    });
  } finally {
    await journal.flush();
  }
  failedBeforeAnyHost(code, outcomes, logPath(o));
  const list = outcomes.list();
  const passed = list.every((h) => h.result === 'rolled-back' || h.result === 'untouched');
  return { command: 'rollback', inventory: inv.path, journal: journalPath, log: logPath(o), hosts: list, passed, exitCode: passed ? 0 : 1, durationS: (Date.now() - t0) / 1000 };
}

export async function fleetStatus(o: FleetOptions & { journal?: string }): Promise<FleetReport> {
  const t0 = Date.now();
  const inv = await readInventory(o.inventory, o.signal);
  const hosts = selectHosts(inv, o.limit);
  const journalPath = resolve(o.journal ?? defaultJournalPath(o.inventory));
  const last = lastResults(await readJournal(journalPath));
  const outcomes = new Outcomes(hosts);
  const code = await playbook('status', inv, o, {}, limitOf(hosts, inv.hosts), (e) => outcomes.add(e));
  failedBeforeAnyHost(code, outcomes, logPath(o));
  const list = outcomes.list().map((h) => {
    const j = last.get(h.host);
    return j ? { ...h, journal: { result: String(j.result), run: j.run, ...(num(j.speed) !== undefined ? { speed: num(j.speed)! } : {}) } } : h;
  });
  const passed = list.every((h) => h.result !== 'unreachable' && h.result !== 'pending');
  return { command: 'status', inventory: inv.path, journal: journalPath, log: logPath(o), hosts: list, passed, exitCode: passed ? 0 : 1, durationS: (Date.now() - t0) / 1000 };
}
