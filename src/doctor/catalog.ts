/**
 * Every host program tsx-hv runs, and the data packages it reads: how to find each, how to read
 * its version, which commands need it and which package provides it on each distribution family.
 * It is the one place a module names a program: `run()` (src/util/run.ts) takes a catalog name
 * and finds the program through this table (alternative names included), and `locateTool()` /
 * `findTool()` (src/doctor/locate.ts) do the same for programs that are not run through `run()`.
 * So `tsx-hv doctor`, which reports from this table, checks exactly what the code runs; a unit
 * test (test/unit/doctor/catalog.test.ts) scans src/ to prove it.
 *
 * Add a tool here when a module starts using one, and its Debian package to .ci/apt-packages.txt.
 */
export type PackageFamily = 'debian' | 'fedora' | 'suse' | 'arch';

/** What needs a tool: a tsx-hv command, or a developer script (`npm ...`). Only commands that exist. */
export type Need = 'build' | 'run' | 'test' | 'ctl' | 'flash' | 'provision' | 'fleet' | 'doctor' | 'npm ci' | 'npm test' | 'npm run bench:vtime';

export interface ToolSpec {
  /** The name users know it by (and the key in doctor's JSON); for programs, the name modules run it by. */
  readonly name: string;
  /** What tsx-hv uses it for, one line. */
  readonly purpose: string;
  readonly neededBy: readonly Need[];
  /** Package providing it per family; null = not packaged there (install by hand). */
  readonly packages: Readonly<Record<PackageFamily, string | null>>;
  /** Executable names to look for in PATH (+ sbin), first found wins. */
  readonly programs?: readonly string[];
  /** Files or directories (data packages such as GRUB platform modules, firmware); first existing wins. */
  readonly paths?: readonly string[];
  /** Arguments that make the program print its version (stdout or stderr). */
  readonly versionArgs?: readonly string[];
  /** First capture group is the version; default: the first dotted number in the output. */
  readonly versionPattern?: RegExp;
  /** The program must be a statically linked ELF (it is copied into an initramfs). */
  readonly mustBeStatic?: boolean;
  /**
   * Why tsx-hv works without it (developer-only, or a fallback exists). Doctor reports an optional
   * tool that is missing but does not fail (exit 0) because of it.
   */
  readonly optional?: string;
}

const UTIL_LINUX = { debian: 'util-linux', fedora: 'util-linux', suse: 'util-linux', arch: 'util-linux' } as const;
const MOUNT = { debian: 'mount', fedora: 'util-linux', suse: 'util-linux', arch: 'util-linux' } as const;
const BOCHS_OPTIONAL = 'only `--engine bochs` runs Bochs; QEMU is the default engine';

export const TOOLS = [
  {
    name: 'qemu-system-x86_64',
    purpose: 'emulates an AMD SVM machine (TCG) to boot the hypervisor: the qemu-tcg-svm engine',
    neededBy: ['run', 'test'],
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
    purpose: 'emulates an Intel VT-x (or AMD SVM) machine to run the VMX backend: the bochs engine (`--engine bochs`)',
    neededBy: ['run', 'test'],
    optional: BOCHS_OPTIONAL,
    packages: { debian: 'bochs', fedora: 'bochs', suse: 'bochs', arch: null },
    programs: ['bochs'],
    versionArgs: ['--help'],
    versionPattern: /Bochs x86 Emulator (\S+)/,
  },
  {
    name: 'bochsbios',
    purpose: 'the BIOS image Bochs boots',
    neededBy: ['run', 'test'],
    optional: BOCHS_OPTIONAL,
    packages: { debian: 'bochsbios', fedora: 'bochs-bios', suse: 'bochs', arch: null },
    paths: ['/usr/share/bochs/BIOS-bochs-latest'],
  },
  {
    name: 'vgabios',
    purpose: 'the VGA BIOS image Bochs boots',
    neededBy: ['run', 'test'],
    optional: BOCHS_OPTIONAL,
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
    name: 'grub-mkimage',
    purpose: 'makes the GRUB network boot images (i386-pc-pxe, x86_64-efi) for `fleet netboot`',
    neededBy: ['fleet'],
    packages: { debian: 'grub-common', fedora: 'grub2-tools', suse: 'grub2', arch: 'grub' },
    programs: ['grub-mkimage', 'grub2-mkimage'],
    versionArgs: ['--version'],
    versionPattern: /\(GRUB\) (\S+)/,
  },
  {
    name: 'grub-mknetdir',
    purpose: 'installs the GRUB modules into the TFTP tree for `fleet netboot`',
    neededBy: ['fleet'],
    packages: { debian: 'grub-common', fedora: 'grub2-tools', suse: 'grub2', arch: 'grub' },
    programs: ['grub-mknetdir', 'grub2-mknetdir'],
    versionArgs: ['--version'],
    versionPattern: /\(GRUB\) (\S+)/,
  },
  {
    name: 'dnsmasq',
    purpose: 'serves the `fleet netboot` tree: proxy-DHCP (or DHCP) and TFTP; tsx-hv prints its command line',
    neededBy: ['fleet'],
    optional: 'tsx-hv only renders its configuration; the lab server that runs it needs it',
    packages: { debian: 'dnsmasq-base', fedora: 'dnsmasq', suse: 'dnsmasq', arch: 'dnsmasq' },
    programs: ['dnsmasq'],
    versionArgs: ['--version'],
    versionPattern: /Dnsmasq version (\S+)/,
  },
  {
    name: 'ansible-playbook',
    purpose: 'runs the `fleet plan|rollout|status|rollback` playbooks (ansible/ in the package) on the lab\'s machines over ssh',
    neededBy: ['fleet'],
    packages: { debian: 'ansible-core', fedora: 'ansible-core', suse: 'ansible-core', arch: 'ansible-core' },
    programs: ['ansible-playbook'],
    versionArgs: ['--version'],
    versionPattern: /ansible-playbook \[core (\S+)\]/,
  },
  {
    name: 'ansible-inventory',
    purpose: 'reads a fleet\'s inventory (hosts, groups, host vars) before any host is touched',
    neededBy: ['fleet'],
    packages: { debian: 'ansible-core', fedora: 'ansible-core', suse: 'ansible-core', arch: 'ansible-core' },
    programs: ['ansible-inventory'],
    versionArgs: ['--version'],
    versionPattern: /ansible-inventory \[core (\S+)\]/,
  },
  {
    name: 'grub-pc-bin',
    purpose: 'GRUB modules for BIOS boot (i386-pc), put on the media by grub-mkrescue and into the netboot tree',
    neededBy: ['build', 'fleet'],
    packages: { debian: 'grub-pc-bin', fedora: 'grub2-pc-modules', suse: 'grub2-i386-pc', arch: 'grub' },
    paths: ['/usr/lib/grub/i386-pc', '/usr/lib/grub2/i386-pc', '/usr/share/grub2/i386-pc'],
  },
  {
    name: 'grub-efi-amd64-bin',
    purpose: 'GRUB modules for UEFI boot (x86_64-efi), put on the media by grub-mkrescue and into the netboot tree',
    neededBy: ['build', 'fleet'],
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
    neededBy: ['npm test'],
    optional: 'only the provision e2e tests build roots with it',
    packages: { debian: 'debootstrap', fedora: 'debootstrap', suse: 'debootstrap', arch: 'debootstrap' },
    programs: ['debootstrap'],
    versionArgs: ['--version'],
  },
  {
    name: 'ssh',
    purpose: 'reaches live hosts (provision ssh://, test --target ssh://)',
    neededBy: ['provision', 'test'],
    packages: { debian: 'openssh-client', fedora: 'openssh-clients', suse: 'openssh-clients', arch: 'openssh' },
    programs: ['ssh'],
    versionArgs: ['-V'],
  },
  {
    name: 'sshd',
    purpose: 'the SSH server the live-host tests run in a network namespace',
    neededBy: ['npm test'],
    optional: 'only the live-host e2e tests run an SSH server',
    packages: { debian: 'openssh-server', fedora: 'openssh-server', suse: 'openssh-server', arch: 'openssh' },
    programs: ['sshd'],
    versionArgs: ['-V'],
  },
  {
    name: 'valgrind',
    purpose: 'counts the instructions of the vtime read path (callgrind)',
    neededBy: ['npm run bench:vtime'],
    optional: 'only the vtime benchmark counts instructions with it',
    packages: { debian: 'valgrind', fedora: 'valgrind', suse: 'valgrind', arch: 'valgrind' },
    programs: ['valgrind'],
    versionArgs: ['--version'],
  },
  {
    name: 'lsblk',
    purpose: 'lists the block devices `tsx-hv flash` chooses from',
    neededBy: ['flash'],
    packages: UTIL_LINUX,
    programs: ['lsblk'],
    versionArgs: ['--version'],
  },
  {
    name: 'eject',
    purpose: 'ejects the USB stick after `tsx-hv flash`',
    neededBy: ['flash'],
    optional: 'a flash that cannot eject only warns: the stick is written and verified',
    packages: { debian: 'eject', fedora: 'util-linux', suse: 'util-linux', arch: 'util-linux' },
    programs: ['eject'],
    versionArgs: ['--version'],
  },
  {
    name: 'blkid',
    purpose: 'reads the filesystem signatures of disks (flash) and partitions (provision image:)',
    neededBy: ['flash', 'provision'],
    packages: UTIL_LINUX,
    programs: ['blkid'],
    versionArgs: ['-V'],
  },
  {
    name: 'blockdev',
    purpose: 'reads the size of a block device given as the image to flash',
    neededBy: ['flash'],
    packages: UTIL_LINUX,
    programs: ['blockdev'],
    versionArgs: ['--version'],
  },
  {
    name: 'findmnt',
    purpose: 'tells which device holds the image file, so flash never overwrites its own source',
    neededBy: ['flash'],
    packages: UTIL_LINUX,
    programs: ['findmnt'],
    versionArgs: ['--version'],
  },
  {
    name: 'umount',
    purpose: 'unmounts automounted filesystems before a flash, and image partitions after provision',
    neededBy: ['flash', 'provision'],
    packages: MOUNT,
    programs: ['umount'],
    versionArgs: ['--version'],
  },
  {
    name: 'mount',
    purpose: 'mounts the partitions of a disk image for provision image:',
    neededBy: ['provision'],
    packages: MOUNT,
    programs: ['mount'],
    versionArgs: ['--version'],
  },
  {
    name: 'mountpoint',
    purpose: 'checks whether the FUSE export of a qcow2 image is still mounted before unmounting it',
    neededBy: ['provision'],
    packages: UTIL_LINUX,
    programs: ['mountpoint'],
    versionArgs: ['--version'],
  },
  {
    name: 'losetup',
    purpose: 'attaches disk images to loop devices (provision image:) and finds images already attached',
    neededBy: ['provision'],
    packages: MOUNT,
    programs: ['losetup'],
    versionArgs: ['--version'],
  },
  {
    name: 'partx',
    purpose: 'makes the kernel read the partition table of a loop device',
    neededBy: ['provision'],
    packages: UTIL_LINUX,
    programs: ['partx'],
    versionArgs: ['--version'],
  },
  {
    name: 'fuser',
    purpose: 'refuses to provision a disk image another process has open',
    neededBy: ['provision'],
    packages: { debian: 'psmisc', fedora: 'psmisc', suse: 'psmisc', arch: 'psmisc' },
    programs: ['fuser'],
    versionArgs: ['-V'],
  },
  {
    name: 'qemu-img',
    purpose: 'tells raw from qcow2 images and refuses images QEMU has locked (provision image:)',
    neededBy: ['provision'],
    packages: { debian: 'qemu-utils', fedora: 'qemu-img', suse: 'qemu-tools', arch: 'qemu-img' },
    programs: ['qemu-img'],
    versionArgs: ['--version'],
    versionPattern: /qemu-img version (\S+)/,
  },
  {
    name: 'qemu-storage-daemon',
    purpose: 'exports a qcow2 image as a raw file over FUSE so it can be loop-mounted (provision image:)',
    neededBy: ['provision'],
    packages: { debian: 'qemu-system-common', fedora: 'qemu-storage-daemon', suse: 'qemu-tools', arch: 'qemu-common' },
    programs: ['qemu-storage-daemon'],
    versionArgs: ['--version'],
    versionPattern: /qemu-storage-daemon version (\S+)/,
  },
  {
    name: 'stty',
    purpose: 'sets a serial device to the hypervisor port\'s 115200 baud, raw (`ctl --port`: a real machine\'s control port over a serial cable)',
    neededBy: ['ctl'],
    packages: { debian: 'coreutils', fedora: 'coreutils', suse: 'coreutils', arch: 'coreutils' },
    programs: ['stty'],
    versionArgs: ['--version'],
  },
  {
    name: 'chroot',
    purpose: 'runs programs inside a dir: or image: target (provision)',
    neededBy: ['provision'],
    packages: { debian: 'coreutils', fedora: 'coreutils', suse: 'coreutils', arch: 'coreutils' },
    programs: ['chroot'],
    versionArgs: ['--version'],
  },
  {
    name: 'systemctl',
    purpose: 'enables and disables units of an offline target (`systemctl --root`, provision)',
    neededBy: ['provision'],
    packages: { debian: 'systemd', fedora: 'systemd', suse: 'systemd', arch: 'systemd' },
    programs: ['systemctl'],
    versionArgs: ['--version'],
    versionPattern: /systemd (\d+)/,
  },
  {
    name: 'diff',
    purpose: 'shows what provision changes (and, with --dry-run, would change) in each file',
    neededBy: ['provision'],
    packages: { debian: 'diffutils', fedora: 'diffutils', suse: 'diffutils', arch: 'diffutils' },
    programs: ['diff'],
    versionArgs: ['--version'],
  },
  {
    name: 'setpriv',
    purpose: 'starts QEMU and Bochs with a parent-death signal, so no emulator outlives a killed tsx-hv',
    neededBy: ['run', 'test'],
    packages: UTIL_LINUX,
    programs: ['setpriv'],
    versionArgs: ['--version'],
  },
  {
    name: 'apt-cache',
    purpose: 'finds the version of Debian\'s linux-image-amd64 kernel the guest uses',
    neededBy: ['build'],
    packages: { debian: 'apt', fedora: null, suse: null, arch: null },
    programs: ['apt-cache'],
    versionArgs: ['--version'],
  },
  {
    name: 'apt-get',
    purpose: 'downloads the guest kernel package (build) and installs missing tools (doctor --install)',
    neededBy: ['build', 'doctor'],
    packages: { debian: 'apt', fedora: null, suse: null, arch: null },
    programs: ['apt-get'],
    versionArgs: ['--version'],
  },
  {
    name: 'dpkg-deb',
    purpose: 'unpacks the downloaded guest kernel package',
    neededBy: ['build'],
    packages: { debian: 'dpkg', fedora: null, suse: null, arch: null },
    programs: ['dpkg-deb'],
    versionArgs: ['--version'],
  },
  {
    name: 'dpkg-query',
    purpose: 'reads the versions of data packages (GRUB modules, firmware) on Debian',
    neededBy: ['doctor'],
    optional: 'without it doctor shows no version for data packages',
    packages: { debian: 'dpkg', fedora: null, suse: null, arch: null },
    programs: ['dpkg-query'],
    versionArgs: ['--version'],
  },
  {
    name: 'dmesg',
    purpose: 'reads the kernel\'s TSC calibration from the kernel log (doctor)',
    neededBy: ['doctor'],
    optional: 'without it doctor takes the TSC frequency from CPUID or /proc/cpuinfo',
    packages: UTIL_LINUX,
    programs: ['dmesg'],
    versionArgs: ['--version'],
  },
  {
    name: 'sudo',
    purpose: 'runs apt-get as root for `doctor --install` when tsx-hv is not root',
    neededBy: ['doctor'],
    optional: 'only needed to install packages without being root',
    packages: { debian: 'sudo', fedora: 'sudo', suse: 'sudo', arch: 'sudo' },
    programs: ['sudo'],
    versionArgs: ['--version'],
  },
] as const satisfies readonly ToolSpec[];

/** The catalog names of programs (not data packages): what `run()` and `locateTool()` accept. */
export type ProgramTool = Extract<(typeof TOOLS)[number], { programs: readonly string[] }>['name'];

/** The catalog names of data packages (firmware, modules): what `locateData()` accepts. */
export type DataTool = Extract<(typeof TOOLS)[number], { paths: readonly string[] }>['name'];

export function toolSpec(name: string): ToolSpec | undefined {
  return (TOOLS as readonly ToolSpec[]).find((t) => t.name === name);
}
