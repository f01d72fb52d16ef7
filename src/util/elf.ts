import { open } from 'node:fs/promises';

/** ELF program header type of the interpreter (dynamic loader) entry. System V gABI, "Program Header". */
const PT_INTERP = 3;
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;

export type Linkage = 'static' | 'dynamic' | 'not-elf';

/**
 * Whether a program is statically linked: a 64-bit little-endian ELF file without a PT_INTERP
 * program header needs no dynamic loader, so it runs inside a bare initramfs. (A static-PIE has
 * no PT_INTERP either and counts as static.) Anything else that is not a 64-bit LE ELF: 'not-elf'.
 */
export async function elfLinkage(path: string): Promise<Linkage> {
  const fh = await open(path, 'r');
  try {
    const header = Buffer.alloc(64);
    const { bytesRead } = await fh.read(header, 0, 64, 0);
    if (bytesRead < 64 || !header.subarray(0, 4).equals(ELF_MAGIC)) return 'not-elf';
    if (header[4] !== ELFCLASS64 || header[5] !== ELFDATA2LSB) return 'not-elf';
    const phoff = Number(header.readBigUInt64LE(0x20));
    const phentsize = header.readUInt16LE(0x36);
    const phnum = header.readUInt16LE(0x38);
    const table = Buffer.alloc(phentsize * phnum);
    await fh.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      if (table.readUInt32LE(i * phentsize) === PT_INTERP) return 'dynamic';
    }
    return 'static';
  } finally {
    await fh.close();
  }
}
