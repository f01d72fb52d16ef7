/**
 * Every host tool tsx-hv uses: how to find it, how to read its version, which commands need it
 * and which package provides it on each distribution family. `tsx-hv doctor` reports from this
 * table; other modules find their programs through `locateTool()` (src/doctor/tools.ts) so the
 * error for a missing tool always says the same thing.
 *
 * Add a tool here when a new module starts using one.
 */
export type PackageFamily = 'debian' | 'fedora' | 'suse' | 'arch';

/** What needs a tool: a tsx-hv command, or a developer script (`npm run ...`). */
export type Need = 'build' | 'run' | 'test' | 'flash' | 'provision' | 'fleet' | 'npm ci' | 'npm test' | 'npm run bench:vtime';

export interface ToolSpec {
  /** The name users know it by (and the key in doctor's JSON). */
  name: string;
  /** What tsx-hv uses it for, one line. */
  purpose: string;
  neededBy: Need[];
  /** Package providing it per family; null = not packaged there (install by hand). */
  packages: Record<PackageFamily, string | null>;
  /** Executable names to look for in PATH (+ sbin), first found wins. */
  programs?: string[];
  /** Files or directories (data packages such as GRUB platform modules, firmware); first existing wins. */
  paths?: string[];
  /** Arguments that make the program print its version (stdout or stderr). */
  versionArgs?: string[];
  /** First capture group is the version; default: the first dotted number in the output. */
  versionPattern?: RegExp;
  /** The program must be a statically linked ELF (it is copied into an initramfs). */
  mustBeStatic?: boolean;
}

export const TOOLS: readonly ToolSpec[] = [
  {
    name: 'qemu-system-x86_64',
    purpose: 'emulates an AMD SVM machine (TCG) to boot the hypervisor: the qemu-tcg-svm engine',
    neededBy: ['run', 'test', 'flash'],
    packages: { debian: 'qemu-system-x86', fedora: 'qemu-system-x86-core', suse: 'qemu-x86', arch: 'qemu-system-x86' },
    programs: ['qemu-system-x86_64'],
    versionArgs: ['--version'],
    versionPattern: /QEMU emulator version (\S+)/,
  },
  {
    name: 'ovmf',
    purpose: 'UEFI firmware for QEMU, to boot the media the UEFI way',
    neededBy: ['run', 'test'],
    packages: { debian: 'ovmf', fedora: 'edk2-ovmf', suse: 'qemu-ovmf-x86_64', arch: 'edk2-ovmf' },
    paths: ['/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/edk2/ovmf/OVMF_CODE.fd', '/usr/share/edk2/x64/OVMF_CODE.4m.fd', '/usr/share/qemu/ovmf-x86_64-code.bin'],
  },
  {
    name: 'bochs',
    purpose: 'emulates an Intel VT-x machine to test the VMX backend: the bochs-vmx engine',
    neededBy: ['run', 'test'],
    packages: { debian: 'bochs', fedora: 'bochs', suse: 'bochs', arch: null },
    programs: ['bochs'],
    versionArgs: ['--help'],
    versionPattern: /Bochs x86 Emulator (\S+)/,
  },
  {
    name: 'bochsbios',
    purpose: 'the BIOS image Bochs boots',
    neededBy: ['run', 'test'],
    packages: { debian: 'bochsbios', fedora: 'bochs-bios', suse: 'bochs', arch: null },
    paths: ['/usr/share/bochs/BIOS-bochs-latest'],
  },
  {
    name: 'vgabios',
    purpose: 'the VGA BIOS image Bochs boots',
    neededBy: ['run', 'test'],
    packages: { debian: 'vgabios', fedora: 'bochs-bios', suse: 'bochs', arch: null },
    paths: ['/usr/share/bochs/VGABIOS-lgpl-latest', '/usr/share/vgabios/vgabios.bin'],
  },
  {
    name: 'grub-mkrescue',
    purpose: 'makes the hybrid BIOS + UEFI boot media',
    neededBy: ['build'],
    packages: { debian: 'grub-common', fedora: 'grub2-tools-extra', suse: 'grub2', arch: 'grub' },
    programs: ['grub-mkrescue', 'grub2-mkrescue'],
    versionArgs: ['--version'],
    versionPattern: /\(GRUB\) (\S+)/,
  },
  {
    name: 'grub-pc-bin',
    purpose: 'GRUB modules for BIOS boot (i386-pc), put on the media by grub-mkrescue',
    neededBy: ['build'],
    packages: { debian: 'grub-pc-bin', fedora: 'grub2-pc-modules', suse: 'grub2-i386-pc', arch: 'grub' },
    paths: ['/usr/lib/grub/i386-pc', '/usr/lib/grub2/i386-pc', '/usr/share/grub2/i386-pc'],
  },
  {
    name: 'grub-efi-amd64-bin',
    purpose: 'GRUB modules for UEFI boot (x86_64-efi), put on the media by grub-mkrescue',
    neededBy: ['build'],
    packages: { debian: 'grub-efi-amd64-bin', fedora: 'grub2-efi-x64-modules', suse: 'grub2-x86_64-efi', arch: 'grub' },
    paths: ['/usr/lib/grub/x86_64-efi', '/usr/lib/grub2/x86_64-efi', '/usr/share/grub2/x86_64-efi'],
  },
  {
    name: 'xorriso',
    purpose: 'writes the ISO 9660 image for grub-mkrescue',
    neededBy: ['build'],
    packages: { debian: 'xorriso', fedora: 'xorriso', suse: 'xorriso', arch: 'libisoburn' },
    programs: ['xorriso'],
    versionArgs: ['-version'],
  },
  {
    name: 'mtools',
    purpose: 'builds the EFI system partition image for grub-mkrescue (mformat, mcopy)',
    neededBy: ['build'],
    packages: { debian: 'mtools', fedora: 'mtools', suse: 'mtools', arch: 'mtools' },
    programs: ['mformat'],
    versionArgs: ['--version'],
  },
  {
    name: 'cmake',
    purpose: 'builds hv-core, its host tests and the native addon',
    neededBy: ['build', 'npm ci', 'npm test'],
    packages: { debian: 'cmake', fedora: 'cmake', suse: 'cmake', arch: 'cmake' },
    programs: ['cmake'],
    versionArgs: ['--version'],
  },
  {
    name: 'gcc',
    purpose: 'compiles hv-core (freestanding), the guest agent (static) and host tests',
    neededBy: ['build', 'npm ci', 'npm test'],
    packages: { debian: 'gcc', fedora: 'gcc', suse: 'gcc', arch: 'gcc' },
    programs: ['gcc'],
    versionArgs: ['--version'],
    versionPattern: /\) (\d+\.\d+\.\d+)/,
  },
  {
    name: 'g++',
    purpose: 'compiles the native Node addon',
    neededBy: ['build', 'npm ci'],
    packages: { debian: 'g++', fedora: 'gcc-c++', suse: 'gcc-c++', arch: 'gcc' },
    programs: ['g++'],
    versionArgs: ['--version'],
    versionPattern: /\) (\d+\.\d+\.\d+)/,
  },
  {
    name: 'make',
    purpose: 'the build tool CMake generates for',
    neededBy: ['build', 'npm ci', 'npm test'],
    packages: { debian: 'make', fedora: 'make', suse: 'make', arch: 'make' },
    programs: ['make'],
    versionArgs: ['--version'],
  },
  {
    name: 'busybox-static',
    purpose: 'the user space of the guest initramfs (must be statically linked)',
    neededBy: ['build'],
    packages: { debian: 'busybox-static', fedora: 'busybox', suse: 'busybox-static', arch: 'busybox' },
    programs: ['busybox'],
    versionArgs: ['--help'],
    versionPattern: /BusyBox v(\S+)/,
    mustBeStatic: true,
  },
  {
    name: 'cpio',
    purpose: 'packs the guest initramfs',
    neededBy: ['build'],
    packages: { debian: 'cpio', fedora: 'cpio', suse: 'cpio', arch: 'cpio' },
    programs: ['cpio'],
    versionArgs: ['--version'],
  },
  {
    name: 'debootstrap',
    purpose: 'builds the Debian root filesystems provision is tested on',
    neededBy: ['provision', 'npm test'],
    packages: { debian: 'debootstrap', fedora: 'debootstrap', suse: 'debootstrap', arch: 'debootstrap' },
    programs: ['debootstrap'],
    versionArgs: ['--version'],
  },
  {
    name: 'ssh',
    purpose: 'reaches live hosts (provision ssh://, fleet)',
    neededBy: ['provision', 'fleet'],
    packages: { debian: 'openssh-client', fedora: 'openssh-clients', suse: 'openssh-clients', arch: 'openssh' },
    programs: ['ssh'],
    versionArgs: ['-V'],
  },
  {
    name: 'sshd',
    purpose: 'the SSH server the live-host tests run in a network namespace',
    neededBy: ['provision', 'npm test'],
    packages: { debian: 'openssh-server', fedora: 'openssh-server', suse: 'openssh-server', arch: 'openssh' },
    programs: ['sshd'],
    versionArgs: ['-V'],
  },
  {
    name: 'ansible-playbook',
    purpose: 'rolls tsx-hv out to many machines',
    neededBy: ['fleet'],
    packages: { debian: 'ansible', fedora: 'ansible-core', suse: 'ansible', arch: 'ansible' },
    programs: ['ansible-playbook'],
    versionArgs: ['--version'],
  },
  {
    name: 'valgrind',
    purpose: 'counts the instructions of the vtime read path (callgrind)',
    neededBy: ['npm run bench:vtime'],
    packages: { debian: 'valgrind', fedora: 'valgrind', suse: 'valgrind', arch: 'valgrind' },
    programs: ['valgrind'],
    versionArgs: ['--version'],
  },
  {
    name: 'lsblk',
    purpose: 'lists the block devices `tsx-hv flash` chooses from (util-linux: lsblk, blkid, findmnt, blockdev, umount)',
    neededBy: ['flash'],
    packages: { debian: 'util-linux', fedora: 'util-linux', suse: 'util-linux', arch: 'util-linux' },
    programs: ['lsblk'],
    versionArgs: ['--version'],
  },
  {
    name: 'eject',
    purpose: 'ejects the USB stick after `tsx-hv flash` (a failure is only a warning)',
    neededBy: ['flash'],
    packages: { debian: 'eject', fedora: 'util-linux', suse: 'util-linux', arch: 'util-linux' },
    programs: ['eject'],
    versionArgs: ['--version'],
  },
];

export function toolSpec(name: string): ToolSpec | undefined {
  return TOOLS.find((t) => t.name === name);
}
