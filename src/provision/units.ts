import { posix } from 'node:path';
import type { FileState } from './types.js';

/**
 * systemd unit facts read from the unit files themselves, so the same code answers for an
 * offline root and a live host: is a unit installed, enabled (symlinks in /etc/systemd/system
 * pointing at it), masked (a symlink to /dev/null)?
 */
export const ADMIN_UNIT_DIR = '/etc/systemd/system';
export const VENDOR_UNIT_DIRS = ['/usr/lib/systemd/system', '/lib/systemd/system'] as const;

/**
 * Where `systemctl enable/disable` also changes links for units that ship a SysV init script:
 * systemd-sysv-install runs update-rc.d (Debian) or chkconfig (Fedora), so these trees are
 * backed up along with /etc/systemd/system.
 */
export const SYSV_RC_DIRS = [...['0', '1', '2', '3', '4', '5', '6', 'S'].map((l) => `/etc/rc${l}.d`), ...['0', '1', '2', '3', '4', '5', '6'].map((l) => `/etc/rc.d/rc${l}.d`)];

/** Everything a systemctl enable/disable/mask can change. */
export const UNIT_LINK_TREES = [ADMIN_UNIT_DIR, ...SYSV_RC_DIRS];

/** Every network time client provision knows, by its systemd unit name. */
export const NTP_UNITS = ['systemd-timesyncd.service', 'chrony.service', 'chronyd.service', 'ntp.service', 'ntpd.service', 'ntpsec.service', 'openntpd.service'] as const;

export function isMasked(tree: ReadonlyMap<string, FileState>, unit: string): boolean {
  const s = tree.get(posix.join(ADMIN_UNIT_DIR, unit));
  return s?.type === 'link' && s.target === '/dev/null';
}

/** Symlinks below /etc/systemd/system that enable or alias `unit` (the mask link excluded). */
export function enablingLinks(tree: ReadonlyMap<string, FileState>, unit: string): string[] {
  const out: string[] = [];
  for (const [path, s] of tree) {
    if (s.type !== 'link' || s.target === '/dev/null') continue;
    if (posix.basename(s.target) === unit) out.push(path);
  }
  return out.sort();
}
