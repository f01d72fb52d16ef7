import { UsageError } from '../errors.js';

/**
 * Waves of a rollout: Ansible's `serial` list. Each item is a number of hosts or a percentage of
 * all the play's hosts; the last item repeats until every host has had its turn. A percentage
 * rounds down, to at least one host. This is how ansible-playbook itself cuts a play into
 * batches (PlaybookExecutor._get_serialized_batches in ansible-core 2.14), so `fleet plan`
 * predicts the waves `fleet rollout` will run.
 */
export type WaveSize = number | `${number}%`;

export const DEFAULT_WAVES: readonly WaveSize[] = [1, '10%', '50%', '100%'];

/** "1,10%,50%,100%" (or a JSON list) -> [1, '10%', '50%', '100%']; errors name the bad item. */
export function parseWaves(spec: string): WaveSize[] {
  const text = spec.trim();
  let items: unknown[];
  if (text.startsWith('[')) {
    try {
      items = JSON.parse(text) as unknown[];
    } catch {
      throw new UsageError(`--waves "${spec}" is not a JSON list`, 'e.g. --waves 1,10%,50%,100% or --waves \'[1, "10%", "100%"]\'');
    }
    if (!Array.isArray(items)) throw new UsageError(`--waves "${spec}" is not a list`);
  } else {
    items = text.split(',').map((s) => s.trim());
  }
  if (items.length === 0 || (items.length === 1 && items[0] === '')) throw new UsageError('--waves needs at least one wave size', 'e.g. --waves 1,10%,50%,100%');
  return items.map((item) => {
    const s = String(item).trim();
    const pct = /^(\d+)%$/.exec(s); // whole percentages: what Ansible accepts
    if (pct) {
      const v = Number(pct[1]);
      if (v <= 0 || v > 100) throw new UsageError(`--waves: "${s}" is not a percentage from above 0 to 100`);
      return `${v}%` as WaveSize;
    }
    if (/^\d+$/.test(s) && Number(s) >= 1) return Number(s);
    throw new UsageError(`--waves: "${s}" is neither a number of hosts (1 or more) nor a percentage such as 10%`, 'e.g. --waves 1,10%,50%,100%');
  });
}

/** Ansible's pct_to_int: a percentage of `total`, rounded down, at least 1. */
function size(item: WaveSize, total: number): number {
  if (typeof item === 'number') return item;
  return Math.floor((Number(item.slice(0, -1)) / 100) * total) || 1;
}

/** The hosts of each wave, in inventory order. */
export function cutWaves<T>(hosts: readonly T[], waves: readonly WaveSize[]): T[][] {
  const out: T[][] = [];
  let at = 0;
  for (let i = 0; at < hosts.length; i = Math.min(i + 1, waves.length - 1)) {
    const n = size(waves[i]!, hosts.length);
    out.push(hosts.slice(at, at + n));
    at += n;
  }
  return out;
}

/** 0 to 100: a wave in which more than this percentage of hosts failed stops the rollout (Ansible's max_fail_percentage). */
export function parseMaxFail(spec: string): number {
  const s = spec.trim().replace(/%$/, '');
  const v = Number(s);
  if (s === '' || !Number.isFinite(v) || v < 0 || v > 100) throw new UsageError(`--max-fail "${spec}" is not a percentage from 0 to 100`, 'e.g. --max-fail 10 (a wave with more than 10% failed hosts stops the rollout)');
  return v;
}
