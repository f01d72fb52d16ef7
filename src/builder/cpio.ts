/**
 * A writer for the "newc" cpio format the Linux kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst): a 110-byte ASCII header of
 * 13 eight-digit hex fields, the NUL-terminated name, the data, each padded to 4 bytes, and a
 * final "TRAILER!!!" entry. Written here rather than with cpio(1) so that device nodes
 * (/dev/console) need no mknod on the build host and the archive is byte-for-byte reproducible
 * (all owners root, all mtimes 0).
 */
export type CpioEntry =
  | { kind: 'file'; path: string; data: Uint8Array; mode?: number }
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const MAGIC = '070701';
const TRAILER = 'TRAILER!!!';

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function header(ino: number, mode: number, nlink: number, size: number, rdev: [number, number], nameSize: number): string {
  // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
  return MAGIC + [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], nameSize, 0].map(hex8).join('');
}

function entryBytes(ino: number, name: string, mode: number, nlink: number, data: Uint8Array, rdev: [number, number] = [0, 0]): Buffer {
  const nameBuf = Buffer.from(name + '\0', 'utf8');
  const head = Buffer.from(header(ino, mode, nlink, data.length, rdev, nameBuf.length), 'ascii');
  return Buffer.concat([
    head,
    nameBuf,
    Buffer.alloc(pad4(head.length + nameBuf.length)),
    Buffer.from(data),
    Buffer.alloc(pad4(data.length)),
  ]);
}

function normalise(path: string): string {
  const p = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (p === '' || p.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    throw new RangeError(`invalid path in initramfs: ${JSON.stringify(path)}`);
  }
  return p;
}

/** Serialises the entries in order (parents must come before their children). */
export function writeNewc(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    const name = normalise(e.path);
    switch (e.kind) {
      case 'dir':
        parts.push(entryBytes(ino++, name, S_IFDIR | (e.mode ?? 0o755), 2, new Uint8Array()));
        break;
      case 'file':
        parts.push(entryBytes(ino++, name, S_IFREG | (e.mode ?? 0o644), 1, e.data));
        break;
      case 'symlink':
        parts.push(entryBytes(ino++, name, S_IFLNK | 0o777, 1, Buffer.from(e.target, 'utf8')));
        break;
      case 'chardev':
        parts.push(entryBytes(ino++, name, S_IFCHR | (e.mode ?? 0o600), 1, new Uint8Array(), [e.major, e.minor]));
        break;
    }
  }
  parts.push(entryBytes(0, TRAILER, 0, 1, new Uint8Array()));
  return Buffer.concat(parts);
}
