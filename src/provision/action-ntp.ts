import { posix } from 'node:path';
import type { Target } from './target.js';
import type { ActionPlan, Change, Operation } from './types.js';
import { ADMIN_UNIT_DIR, UNIT_LINK_TREES, NTP_UNITS, VENDOR_UNIT_DIRS, enablingLinks, isMasked } from './units.js';
import { snapshotTree } from './snapshot.js';

/**
 * The network time action: a client that steps or slews the clock back to real time defeats
 * acceleration, so every installed client is disabled and masked (a mask is a symlink to
 * /dev/null in /etc/systemd/system: nothing, not even a dependency or a package upgrade, starts
 * the unit again). On a live host `timedatectl set-ntp false` is asked first and running clients
 * are stopped.
 *
 * cloud-init: `ntp: enabled: false` only makes cloud-init's cc_ntp module skip its own work; it
 * disables nothing that the image already runs. The masking above is what turns time sync off;
 * the drop-in written here keeps cc_ntp from installing, configuring and restarting a client on
 * first boot (a restart of a masked unit would fail and be logged as a cloud-init error).
 */
export const CLOUD_INIT_DROP_IN = '/etc/cloud/cloud.cfg.d/99-tsx-hv-ntp.cfg';

export const CLOUD_INIT_NTP_OFF = `# Written by tsx-hv provision. Under time acceleration network time must stay off.
# This only stops cloud-init's ntp module from setting up a client; the clients themselves are
# disabled and masked (systemctl mask), which is what actually keeps them from running.
ntp:
  enabled: false
`;

/** Installed NTP units: a regular unit file in a vendor or the admin directory (aliases excluded). */
async function installedUnits(target: Target): Promise<string[]> {
  const out: string[] = [];
  const dirs = [...VENDOR_UNIT_DIRS, ADMIN_UNIT_DIR];
  const present = new Set<string>();
  for (const dir of dirs) for (const path of await target.list(dir)) present.add(path);
  for (const unit of NTP_UNITS) {
    for (const dir of dirs) {
      const path = posix.join(dir, unit);
      if (present.has(path) && (await target.state(path)).type === 'file') {
        out.push(unit);
        break;
      }
    }
  }
  return out;
}

function note(status: Change['status'], subject: string, detail: string): Change {
  return { action: 'ntp', status, kind: 'note', subject, detail };
}

export async function planNtp(target: Target): Promise<ActionPlan> {
  const operations: Operation[] = [];
  const notes: Change[] = [];
  const tree = await snapshotTree(target, ADMIN_UNIT_DIR);
  const units = await installedUnits(target);
  if (units.length === 0) notes.push(note('unchanged', 'ntp', `no network time client installed (looked for ${NTP_UNITS.join(', ')})`));
  const pending = units.filter((u) => !isMasked(tree, u) || enablingLinks(tree, u).length > 0);
  if (target.live && pending.length > 0) {
    operations.push({
      op: 'command',
      action: 'ntp',
      argv: ['timedatectl', 'set-ntp', 'false'],
      touchesTrees: UNIT_LINK_TREES,
      why: 'switch network time off through systemd-timedated',
      bestEffort: 'timedatectl needs a running systemd; the units are disabled and masked below all the same',
    });
  }
  for (const unit of units) {
    const links = enablingLinks(tree, unit);
    const masked = isMasked(tree, unit);
    if (target.live) {
      const active = (await target.exec(['systemctl', 'is-active', unit], { allowFailure: true })).stdout.trim() === 'active';
      if (active) operations.push({ op: 'command', action: 'ntp', systemctl: true, argv: ['stop', unit], stopsUnit: unit, why: `${unit} is running` });
    }
    if (links.length > 0) operations.push({ op: 'command', action: 'ntp', systemctl: true, argv: ['disable', unit], touchesTrees: UNIT_LINK_TREES, why: `remove ${links.join(', ')}` });
    if (!masked) operations.push({ op: 'command', action: 'ntp', systemctl: true, argv: ['mask', unit], touchesTrees: UNIT_LINK_TREES, why: `${ADMIN_UNIT_DIR}/${unit} -> /dev/null` });
    if (masked && links.length === 0) notes.push(note('unchanged', unit, 'already disabled and masked'));
  }
  if ((await target.readFile('/etc/cloud/cloud.cfg')) !== null) {
    const current = await target.readFile(CLOUD_INIT_DROP_IN);
    if (current?.toString('utf8') === CLOUD_INIT_NTP_OFF) notes.push(note('unchanged', CLOUD_INIT_DROP_IN, 'cloud-init ntp module already off'));
    else operations.push({ op: 'write', action: 'ntp', path: CLOUD_INIT_DROP_IN, content: Buffer.from(CLOUD_INIT_NTP_OFF), mode: 0o644, why: 'keep cloud-init from setting up a time client at first boot' });
  }
  return { operations, notes };
}
