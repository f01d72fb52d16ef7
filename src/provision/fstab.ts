/**
 * The parts of fstab(5) provision needs: which device holds /boot (and an EFI system partition),
 * so that an offline image is mounted the way it boots.
 */
export interface FstabEntry {
  spec: string;
  mountPoint: string;
  type: string;
  options: string[];
}

export function parseFstab(text: string): FstabEntry[] {
  const entries: FstabEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const [spec, mountPoint, type = 'auto', options = 'defaults'] = line.split(/\s+/);
    if (!spec || !mountPoint) continue;
    entries.push({ spec: unescape(spec), mountPoint: unescape(mountPoint), type, options: options.split(',') });
  }
  return entries;
}

/** fstab escapes spaces and friends as \040-style octal. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mount points below the root that hold boot configuration, outermost first. */
export const BOOT_MOUNT_POINTS = ['/boot', '/boot/efi', '/efi'] as const;

export interface BlockIdentity {
  device: string;
  uuid?: string;
  partuuid?: string;
  label?: string;
  partlabel?: string;
  /** File system type as blkid reports it (ext4, vfat, ...). */
  type?: string;
}

/** The device an fstab spec (UUID=, PARTUUID=, LABEL=, PARTLABEL= or a path) refers to. */
export function matchDevice(spec: string, devices: readonly BlockIdentity[]): BlockIdentity | undefined {
  const m = /^(UUID|PARTUUID|LABEL|PARTLABEL)=(.*)$/.exec(spec);
  if (!m) return devices.find((d) => d.device === spec);
  const value = m[2]!.replace(/^"|"$/g, '');
  const field = m[1]!.toLowerCase() as 'uuid' | 'partuuid' | 'label' | 'partlabel';
  return devices.find((d) => d[field] !== undefined && d[field]!.toLowerCase() === value.toLowerCase());
}

/** Parse `blkid -o export DEV` output. */
export function parseBlkidExport(device: string, text: string): BlockIdentity {
  const f: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) f[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return { device, uuid: f.UUID, partuuid: f.PARTUUID, label: f.LABEL, partlabel: f.PARTLABEL, type: f.TYPE };
}
