import { realpath, stat } from 'node:fs/promises';
import { buildLayout } from '../builder/layout.js';
import { run } from '../util/run.js';
import { FlashError, describeCause } from './errors.js';
import { majMinOf } from './drives.js';

/** What the safety policy needs to know about the image: its size and where it lives. */
export interface ImageInfo {
  /** Canonical path (symlinks resolved), compared with loop backing files. */
  path: string;
  size: number;
  /** "major:minor" of the filesystem holding the file (st_dev). */
  fsMajMin: string;
  /** The mount source of that filesystem (findmnt -T), e.g. /dev/sdb1; null if none is a device. */
  fsSource: string | null;
  /** "major:minor" of the image itself when it is a block device (st_rdev), else null. */
  deviceMajMin: string | null;
}

/** The media `tsx-hv build` makes (COMMON contract: build/media/tsx-hv.iso). */
export function defaultImagePath(): string {
  return buildLayout().iso;
}

export async function inspectImage(file: string | undefined): Promise<ImageInfo> {
  const given = file ?? defaultImagePath();
  let path: string;
  try {
    path = await realpath(given);
  } catch (err) {
    if (file === undefined) {
      throw new FlashError('discover', `no boot media at ${given}`, {
        code: 'IMAGE_MISSING',
        hint: 'run `tsx-hv build` to make it, or pass --image FILE',
      });
    }
    throw new FlashError('discover', `cannot read the image ${given}: ${describeCause(err)}`, { code: 'IMAGE_MISSING', hint: 'pass --image with an existing file' });
  }
  const st = await stat(path, { bigint: true });
  let size: number;
  let deviceMajMin: string | null = null;
  if (st.isFile()) {
    size = Number(st.size);
  } else if (st.isBlockDevice()) {
    deviceMajMin = majMinOf(st.rdev);
    size = Number((await run('blockdev', ['--getsize64', path])).stdout.trim());
  } else {
    throw new FlashError('discover', `the image ${path} is neither a regular file nor a block device`, { code: 'IMAGE_INVALID' });
  }
  if (size === 0) throw new FlashError('discover', `the image ${path} is empty`, { code: 'IMAGE_INVALID', hint: 'run `tsx-hv build` again' });
  const mount = await run('findmnt', ['-n', '-o', 'SOURCE', '-T', path], { allowFailure: true });
  const source = mount.exitCode === 0 ? mount.stdout.trim().replace(/\[.*\]$/, '') : '';
  return { path, size, fsMajMin: majMinOf(st.dev), fsSource: source.startsWith('/dev/') ? source : null, deviceMajMin };
}
