import { resolve } from 'node:path';
import { TsxHvError, UsageError } from '../errors.js';
import { run } from '../util/run.js';

/**
 * A fleet's Ansible inventory as ansible-inventory reads it (INI, YAML, a directory, a script:
 * whatever Ansible accepts), and the host patterns of `--limit` resolved against it before any
 * host is touched. An inventory Ansible cannot parse, or a pattern naming no host or group of
 * it, is a usage error: Ansible itself would only warn and then run on fewer hosts than asked.
 */
export interface Inventory {
  path: string;
  /** Every host, in inventory order (the order of ansible-inventory's groups, depth first). */
  hosts: string[];
  /** Every group with its hosts (children's hosts included); `all` and `ungrouped` too. */
  groups: Map<string, string[]>;
  hostVars: Record<string, Record<string, unknown>>;
}

interface ListedGroup {
  hosts?: string[];
  children?: string[];
}

/** Builds the inventory from `ansible-inventory --list` output. */
export function inventoryFromList(path: string, listed: Record<string, unknown>): Inventory {
  const meta = (listed._meta ?? {}) as { hostvars?: Record<string, Record<string, unknown>> };
  const groups = new Map<string, string[]>();
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string, stack: string[]): string[] => {
    if (groups.has(name)) return groups.get(name)!;
    if (stack.includes(name)) throw new UsageError(`inventory ${path}: group "${name}" is its own child (${[...stack, name].join(' -> ')})`);
    const g = (listed[name] ?? {}) as ListedGroup;
    const members: string[] = [];
    for (const h of g.hosts ?? []) {
      if (!members.includes(h)) members.push(h);
      if (!seen.has(h)) {
        seen.add(h);
        order.push(h);
      }
    }
    for (const child of g.children ?? []) for (const h of visit(child, [...stack, name])) if (!members.includes(h)) members.push(h);
    groups.set(name, members);
    return members;
  };
  visit('all', []);
  for (const name of Object.keys(listed)) if (name !== '_meta') visit(name, []);
  return { path, hosts: order, groups, hostVars: meta.hostvars ?? {} };
}

export async function readInventory(path: string, signal?: AbortSignal): Promise<Inventory> {
  const abs = resolve(path);
  // Without these, an inventory Ansible cannot parse is a warning and an empty host list.
  const env = { ...process.env, ANSIBLE_INVENTORY_UNPARSED_FAILED: 'true', ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED: 'true', ANSIBLE_NOCOLOR: '1' };
  const r = await run('ansible-inventory', ['-i', abs, '--list'], { env, allowFailure: true, signal, timeout: 120_000 });
  if (r.exitCode !== 0) {
    // Ansible says why in the lines after its "[WARNING]:  * Failed to parse" headers
    // (FILE:LINE: what), then ends with a generic ERROR line: the specific lines come first.
    const lines = r.stderr.replace(/\u001b\[[0-9;]*m/g, '').split('\n').map((l) => l.replace(/^\[WARNING\]:\s*/, '').trim()).filter(Boolean);
    const specific = lines.filter((l) => !/^\*? ?Failed to parse|^Unable to parse|^ERROR! (No inventory was parsed|Completely failed to parse)/.test(l));
    const said = specific.length ? specific : lines;
    throw new UsageError(`inventory ${path} cannot be read by Ansible: ${said.slice(-4).join(' ') || `ansible-inventory exit ${r.exitCode}`}`, 'an Ansible inventory: INI or YAML, https://docs.ansible.com/ansible/latest/inventory_guide/intro_inventory.html');
  }
  let listed: Record<string, unknown>;
  try {
    listed = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new TsxHvError('INVENTORY', `ansible-inventory printed no JSON for ${path}`);
  }
  const inv = inventoryFromList(abs, listed);
  if (inv.hosts.length === 0) throw new UsageError(`inventory ${path} has no hosts`);
  return inv;
}

function globRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/** The hosts one pattern term names: a host, a group, a glob of either, or ~regex (as Ansible). */
function termHosts(inv: Inventory, term: string): string[] | null {
  if (inv.groups.has(term)) return inv.groups.get(term)!;
  if (inv.hosts.includes(term)) return [term];
  const re = term.startsWith('~') ? new RegExp(term.slice(1)) : /[*?[]/.test(term) ? globRegExp(term) : null;
  if (!re) return null;
  const out = new Set<string>();
  for (const [g, members] of inv.groups) if (re.test(g)) for (const h of members) out.add(h);
  for (const h of inv.hosts) if (re.test(h)) out.add(h);
  return out.size ? inv.hosts.filter((h) => out.has(h)) : null;
}

/**
 * The hosts of an Ansible host pattern (`lab1,lab2`, `lab:&rack3`, `lab:!lab7`, `lab*`), in
 * inventory order. Every term must name something: a typo is an error, not a smaller rollout.
 */
export function selectHosts(inv: Inventory, pattern: string | undefined): string[] {
  if (!pattern || pattern.trim() === '' || pattern.trim() === 'all' || pattern.trim() === '*') return [...inv.hosts];
  const terms = pattern.split(/[,:]/).map((s) => s.trim()).filter(Boolean);
  let selected: Set<string> | null = null;
  const intersect: string[][] = [];
  const exclude: string[][] = [];
  for (const raw of terms) {
    const op = raw[0] === '!' || raw[0] === '&' ? raw[0] : '';
    const term = raw.slice(op.length);
    const hosts = termHosts(inv, term);
    if (!hosts) {
      const groups = [...inv.groups.keys()].filter((g) => g !== 'all' && g !== 'ungrouped');
      throw new UsageError(`--limit: no host or group named "${term}" in ${inv.path}`, `hosts: ${inv.hosts.join(', ')}${groups.length ? `; groups: ${groups.join(', ')}` : ''}`);
    }
    if (op === '!') exclude.push(hosts);
    else if (op === '&') intersect.push(hosts);
    else selected = new Set([...(selected ?? []), ...hosts]);
  }
  let out = inv.hosts.filter((h) => (selected ?? new Set(inv.hosts)).has(h));
  for (const i of intersect) out = out.filter((h) => i.includes(h));
  for (const e of exclude) out = out.filter((h) => !e.includes(h));
  return out;
}
