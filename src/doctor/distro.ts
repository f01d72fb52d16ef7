import { readFile } from 'node:fs/promises';
import { parseOsRelease } from '../provision/os-release.js';
import type { PackageFamily } from './catalog.js';

/** The host distribution, as far as installing packages goes. */
export interface HostDistribution {
  id: string;
  name: string;
  /** null: a distribution whose package names tsx-hv does not know. */
  family: PackageFamily | null;
}

const FAMILY_MEMBERS: Record<PackageFamily, readonly string[]> = {
  debian: ['debian', 'ubuntu', 'linuxmint', 'pop', 'raspbian', 'kali', 'devuan'],
  fedora: ['fedora', 'rhel', 'centos', 'rocky', 'almalinux', 'ol'],
  suse: ['suse', 'opensuse', 'opensuse-leap', 'opensuse-tumbleweed', 'sles', 'sled'],
  arch: ['arch', 'archlinux', 'manjaro', 'endeavouros'],
};

/** Classify os-release(5) text by ID, then by ID_LIKE. */
export function distributionFromOsRelease(text: string): HostDistribution {
  const fields = parseOsRelease(text);
  const id = (fields.ID ?? '').toLowerCase();
  const idLike = (fields.ID_LIKE ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const name = fields.PRETTY_NAME ?? fields.NAME ?? (id || 'unknown');
  for (const candidate of [id, ...idLike]) {
    for (const [family, members] of Object.entries(FAMILY_MEMBERS) as [PackageFamily, readonly string[]][]) {
      if (members.includes(candidate)) return { id, name, family };
    }
  }
  return { id, name, family: null };
}

/** Read /etc/os-release (or /usr/lib/os-release) of the machine this runs on. */
export async function hostDistribution(root = '/'): Promise<HostDistribution> {
  for (const file of ['etc/os-release', 'usr/lib/os-release']) {
    try {
      return distributionFromOsRelease(await readFile(root + file, 'utf8'));
    } catch {
      continue;
    }
  }
  return { id: '', name: 'unknown (no os-release)', family: null };
}
