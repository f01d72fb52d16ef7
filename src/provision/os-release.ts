import { TsxHvError } from '../errors.js';

/**
 * Distribution detection from os-release(5): /etc/os-release, else /usr/lib/os-release.
 * Only the families whose boot configuration provision knows are accepted; anything else is a
 * clear refusal rather than a guess that could leave a machine unbootable.
 */
export type DistributionFamily = 'debian' | 'fedora';

export interface Distribution {
  id: string;
  idLike: string[];
  name: string;
  versionId?: string;
  family: DistributionFamily;
}

/** Parse os-release text: KEY=value lines, values optionally quoted with shell-style escapes. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    out[m[1]!] = unquote(m[2]!);
  }
  return out;
}

function unquote(value: string): string {
  const q = value[0];
  if ((q === '"' || q === "'") && value.endsWith(q) && value.length >= 2) {
    const inner = value.slice(1, -1);
    return q === '"' ? inner.replace(/\\([\\$"`])/g, '$1') : inner;
  }
  return value;
}

const FAMILIES: Record<DistributionFamily, string[]> = {
  debian: ['debian', 'ubuntu', 'linuxmint', 'pop', 'raspbian', 'kali', 'devuan'],
  fedora: ['fedora', 'rhel', 'centos', 'rocky', 'almalinux', 'ol'],
};

export function detectDistribution(osReleaseText: string | null): Distribution {
  if (osReleaseText === null) {
    throw new TsxHvError('UNKNOWN_DISTRIBUTION', 'the target has no /etc/os-release or /usr/lib/os-release, so its distribution is unknown', {
      hint: 'provision supports Debian/Ubuntu and Fedora/RHEL families; is the target path the root of a Linux installation?',
    });
  }
  const fields = parseOsRelease(osReleaseText);
  const id = (fields.ID ?? '').toLowerCase();
  const idLike = (fields.ID_LIKE ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  for (const family of Object.keys(FAMILIES) as DistributionFamily[]) {
    const members = FAMILIES[family];
    if (members.includes(id) || idLike.some((l) => members.includes(l))) {
      return { id, idLike, name: fields.PRETTY_NAME ?? fields.NAME ?? id, versionId: fields.VERSION_ID, family };
    }
  }
  throw new TsxHvError('UNKNOWN_DISTRIBUTION', `unsupported distribution "${id || '(no ID)'}"${idLike.length ? ` (ID_LIKE ${idLike.join(' ')})` : ''}: provision does not know how it configures its kernel command line`, {
    hint: 'supported: Debian/Ubuntu (GRUB via update-grub), Fedora/RHEL (grubby), and either with systemd-boot (/etc/kernel/cmdline); add tsc=reliable to the kernel command line by hand',
  });
}
