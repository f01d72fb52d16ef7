import type { BlockDevice } from './drives.js';
import { walk } from './drives.js';
import type { ImageInfo } from './image.js';
import type { Assessment } from './policy.js';
import { formatBytes } from './policy.js';

/** What the operator sees before confirming: the device, and everything that will be lost. */
export interface DriveCard {
  path: string;
  name: string;
  vendor: string | null;
  model: string | null;
  serial: string | null;
  size: number;
  transport: string | null;
  partitionTable: string | null;
  partitions: Array<{ path: string; size: number; fstype: string | null; label: string | null; used: number | null; mountpoints: string[] }>;
  /** One sentence: what erasing the device destroys. */
  loss: string;
  /** Filesystems that will be unmounted first. */
  unmount: string[];
  image: { path: string; size: number };
}

export function driveCard(assessment: Assessment, image: ImageInfo): DriveCard {
  const d: BlockDevice = assessment.device;
  const nodes = [...walk([d])];
  const filesystems = nodes.filter((n) => n.fstype !== null);
  const partitions = d.children.map((p) => ({ path: p.path, size: p.size, fstype: p.fstype, label: p.label, used: p.fsused, mountpoints: p.mountpoints }));
  const loss =
    filesystems.length === 0
      ? `everything on ${d.path} (${formatBytes(d.size)}); no filesystem was recognised on it, but any data there is overwritten`
      : `everything on ${d.path} (${formatBytes(d.size)}), including ${filesystems
          .map((f) => `${f.fstype}${f.label ? ` "${f.label}"` : ''} on ${f.path}${f.fsused !== null ? ` (${formatBytes(f.fsused)} used)` : ''}`)
          .join(', ')}`;
  return {
    path: d.path,
    name: d.name,
    vendor: d.vendor,
    model: d.model,
    serial: d.serial,
    size: d.size,
    transport: d.transport,
    partitionTable: d.pttype,
    partitions,
    loss,
    unmount: assessment.unmount,
    image: { path: image.path, size: image.size },
  };
}

export function renderCard(card: DriveCard): string {
  const lines = [
    `Device      ${card.path}`,
    `Vendor      ${card.vendor ?? '-'}`,
    `Model       ${card.model ?? '-'}`,
    `Serial      ${card.serial ?? '-'}`,
    `Size        ${formatBytes(card.size)} (${card.size} bytes)`,
    `Transport   ${card.transport ?? '-'}`,
    `Partitions  ${card.partitions.length === 0 ? 'none' : `${card.partitions.length} (${card.partitionTable ?? 'no table type'})`}`,
    ...card.partitions.map(
      (p) =>
        `  ${p.path}  ${formatBytes(p.size)}  ${p.fstype ?? 'no filesystem'}${p.label ? ` "${p.label}"` : ''}` +
        `${p.mountpoints.length > 0 ? `  mounted at ${p.mountpoints.join(', ')}` : ''}`,
    ),
    `Image       ${card.image.path} (${formatBytes(card.image.size)})`,
    `Will erase  ${card.loss}`,
  ];
  if (card.unmount.length > 0) lines.push(`Unmounts    ${card.unmount.join(', ')}`);
  return lines.join('\n');
}
