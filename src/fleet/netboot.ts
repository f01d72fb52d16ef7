import { access, chmod, copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { MEDIA_PATHS } from '../builder/iso.js';
import { buildLayout } from '../builder/layout.js';
import { withBuildLock } from '../builder/lock.js';
import { toolSpec, type DataTool } from '../doctor/catalog.js';
import { findTool, locateData } from '../doctor/locate.js';
import { TsxHvError, UsageError } from '../errors.js';
import { throwIfInterrupted } from '../util/abort.js';
import { run } from '../util/run.js';
import { parseRange, parseSubnet, type AddressRange, type Subnet } from './ipv4.js';

/**
 * `tsx-hv fleet netboot` (docs/fleet.md): a TFTP tree and a dnsmasq configuration that boot the
 * media `tsx-hv build` made over the network, on BIOS and UEFI machines. The tree is the media's
 * own layout (MEDIA_PATHS: the hypervisor (both images), the guest kernel and initrd, and the same grub.cfg),
 * plus GRUB's network images and modules and an iPXE script, so a netbooted machine runs exactly
 * what the USB stick runs.
 */

/** Paths inside the TFTP root, besides the media's own (MEDIA_PATHS). */
export const NETBOOT_PATHS = {
  ipxeScript: 'tsx-hv.ipxe',
  grubDir: 'boot/grub',
  biosCore: 'boot/grub/i386-pc/core.0',
  uefiCore: 'boot/grub/x86_64-efi/core.efi',
} as const;

/**
 * Built into both core images: what the media's grub.cfg runs (serial, terminal_*, smbios, `[`,
 * multiboot2/module2, linux/initrd) and the network file system. Anything else it would load on
 * demand from the modules grub-mknetdir installs next to the images.
 */
const GRUB_CONFIG_MODULES = ['normal', 'configfile', 'echo', 'test', 'serial', 'terminal', 'smbios', 'multiboot2', 'linux', 'net', 'tftp'] as const;

interface GrubPlatform {
  firmware: 'bios' | 'uefi';
  /** GRUB's platform directory name and the grub-mkimage format. */
  platform: 'i386-pc' | 'x86_64-efi';
  format: 'i386-pc-pxe' | 'x86_64-efi';
  data: DataTool;
  core: string;
  /** The network driver of the firmware (PXE's UNDI on BIOS, the EFI network protocols on UEFI). */
  modules: readonly string[];
}

const GRUB_PLATFORMS: readonly GrubPlatform[] = [
  { firmware: 'bios', platform: 'i386-pc', format: 'i386-pc-pxe', data: 'grub-pc-bin', core: NETBOOT_PATHS.biosCore, modules: ['pxe'] },
  { firmware: 'uefi', platform: 'x86_64-efi', format: 'x86_64-efi', data: 'grub-efi-amd64-bin', core: NETBOOT_PATHS.uefiCore, modules: ['efinet', 'efi_gop'] },
];

export interface NetbootOptions {
  /** The network interface dnsmasq serves (the lab network's). */
  interface: string;
  /** This host's address on that interface with the prefix length, e.g. 192.168.50.1/24. */
  server: string;
  /**
   * Hand out addresses from this range (`START-END`), for a lab network without a DHCP server.
   * Without it dnsmasq runs as a proxy-DHCP server beside the network's own DHCP server.
   */
  dhcpRange?: string;
  /** Where to write the tree and dnsmasq.conf (default: netboot/ in the build directory). */
  out?: string;
  /** Where `tsx-hv build` put its outputs (default: build/ in the package). */
  buildDir?: string;
  /** Render and check only; write nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
}

export interface NetbootSources {
  hvElf: string;
  /** The UEFI chain entry's hypervisor (the media's grub.cfg names it). */
  hvEfiElf: string;
  vmlinuz: string;
  initrd: string;
  grubCfg: string;
}

export interface NetbootPlan {
  /** proxy: PXE answers beside an existing DHCP server; dhcp: addresses too (an isolated lab network). */
  mode: 'proxy' | 'dhcp';
  interface: string;
  subnet: Subnet;
  range: AddressRange | null;
  out: string;
  tftpRoot: string;
  dnsmasqConf: string;
  /** The build directory the media's files come from. */
  buildDir: string;
  sources: NetbootSources;
  /** The rendered texts. */
  dnsmasqConfText: string;
  ipxeScriptText: string;
  /** GRUB's prefix in both core images: the TFTP server by address, not the one DHCP names. */
  grubPrefix: string;
  /** How to start dnsmasq with the configuration (as root: it binds ports 67 and 69). */
  command: string[];
}

export interface NetbootResult extends NetbootPlan {
  dryRun: boolean;
  /** Files of the TFTP tree (relative to tftpRoot) that the clients load, in boot order. */
  bootFiles: string[];
  /** Things that will stop dnsmasq or the clients on this machine, but not the rendering. */
  warnings: string[];
}

/** Linux interface names: 1-15 bytes, no slash, colon or white space (dev_valid_name), and nothing dnsmasq.conf would misread. */
const INTERFACE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;

export function checkInterfaceName(name: string): string {
  if (!INTERFACE_NAME.test(name) || name === '.' || name === '..') {
    throw new UsageError(`--interface "${name}" is not a network interface name`, 'give the name `ip link` shows for the lab network\'s interface, e.g. --interface eno1 (1 to 15 letters, digits, ".", "-", "_")');
  }
  return name;
}

/** Validates the options and renders every text; touches no file. */
export function planNetboot(opts: NetbootOptions, dnsmasqProgram = 'dnsmasq'): NetbootPlan {
  const iface = checkInterfaceName(opts.interface);
  const subnet = parseSubnet('--server', opts.server);
  const range = opts.dhcpRange === undefined ? null : parseRange('--dhcp-range', opts.dhcpRange, subnet);
  const layout = buildLayout(opts.buildDir === undefined ? undefined : resolve(opts.buildDir));
  const out = opts.out === undefined ? join(layout.out, 'netboot') : resolve(opts.out);
  if (/[\s,#"]/.test(out)) throw new UsageError(`--out "${out}": the directory's path must not contain white space, commas, quotes or #`, 'dnsmasq.conf names it unquoted; choose a plainer path');
  const tftpRoot = join(out, 'tftp');
  const dnsmasqConf = join(out, 'dnsmasq.conf');
  const command = [dnsmasqProgram, '--keep-in-foreground', `--conf-file=${dnsmasqConf}`];
  const plan = {
    mode: range ? 'dhcp' : 'proxy',
    interface: iface,
    subnet,
    range,
    out,
    tftpRoot,
    dnsmasqConf,
    buildDir: layout.out,
    sources: { hvElf: layout.hvElf, hvEfiElf: layout.hvEfiElf, vmlinuz: layout.vmlinuz, initrd: layout.initrd, grubCfg: join(layout.media, 'grub.cfg') },
    grubPrefix: `(tftp,${subnet.address})/${NETBOOT_PATHS.grubDir}`,
    command,
  } as const;
  return { ...plan, dnsmasqConfText: renderDnsmasqConf({ ...plan, out }), ipxeScriptText: renderIpxeScript(subnet.address) };
}

/**
 * dnsmasq.conf: no DNS (port=0), DHCP and TFTP on one interface only. iPXE clients (user class
 * "iPXE": QEMU's NIC ROMs, iPXE builds) get the iPXE script; other PXE firmware gets GRUB's
 * image for its architecture directly (client architecture 7 or 9: x86-64 UEFI, RFC 4578).
 */
export function renderDnsmasqConf(p: Pick<NetbootPlan, 'mode' | 'interface' | 'subnet' | 'range' | 'out' | 'tftpRoot' | 'command'>): string {
  const server = p.subnet.address;
  const lines = [
    `# tsx-hv network boot (tsx-hv fleet netboot, docs/fleet.md): ${p.mode === 'proxy' ? 'proxy-DHCP' : 'DHCP'} and TFTP`,
    `# on ${p.interface} for the subnet ${p.subnet.network}/${p.subnet.prefixLength}; this host is ${server}.`,
    '# Run as root (it binds ports 67 and 69, then drops to an unprivileged user, who must be able',
    '# to read the TFTP tree):',
    `#   ${p.command.join(' ')}`,
    'port=0',
    `interface=${p.interface}`,
    'bind-interfaces',
    'log-facility=-',
    'log-dhcp',
    '# no pid file: a system dnsmasq on this host keeps its own',
    'pid-file=',
    'enable-tftp',
    `tftp-root=${p.tftpRoot}`,
    'dhcp-userclass=set:ipxe,iPXE',
  ];
  if (p.mode === 'proxy') {
    lines.push(
      '# Proxy-DHCP: the network\'s DHCP server hands out the addresses; dnsmasq only answers PXE',
      '# clients with the boot file (PXE boot services, answered from this host).',
      `dhcp-range=${p.subnet.network},proxy,${p.subnet.netmask}`,
      'leasefile-ro',
      `pxe-service=tag:ipxe,x86PC,"tsx-hv (iPXE, BIOS)",${NETBOOT_PATHS.ipxeScript}`,
      `pxe-service=tag:ipxe,x86-64_EFI,"tsx-hv (iPXE, UEFI)",${NETBOOT_PATHS.ipxeScript}`,
      `pxe-service=tag:!ipxe,x86PC,"tsx-hv (BIOS)",${NETBOOT_PATHS.biosCore}`,
      `pxe-service=tag:!ipxe,x86-64_EFI,"tsx-hv (UEFI)",${NETBOOT_PATHS.uefiCore}`,
    );
  } else {
    const range = p.range!;
    lines.push(
      '# DHCP for an isolated lab network: addresses from the range, no router and no DNS server',
      '# (nothing is routed off the lab network).',
      `dhcp-range=${range.start},${range.end},${p.subnet.netmask},1h`,
      `dhcp-leasefile=${join(p.out, 'dnsmasq.leases')}`,
      'dhcp-option=option:router',
      'dhcp-option=option:dns-server',
      'dhcp-match=set:uefi,option:client-arch,7',
      'dhcp-match=set:uefi,option:client-arch,9',
      `dhcp-boot=tag:ipxe,${NETBOOT_PATHS.ipxeScript},,${server}`,
      `dhcp-boot=tag:!ipxe,tag:uefi,${NETBOOT_PATHS.uefiCore},,${server}`,
      `dhcp-boot=tag:!ipxe,tag:!uefi,${NETBOOT_PATHS.biosCore},,${server}`,
    );
  }
  return lines.join('\n') + '\n';
}

/** The iPXE script: hands over to GRUB's image for the platform iPXE runs on. */
export function renderIpxeScript(server: string): string {
  const url = (path: string) => `tftp://${server}/${path}`;
  return [
    '#!ipxe',
    '# tsx-hv network boot (tsx-hv fleet netboot, docs/fleet.md): iPXE hands over to GRUB, which',
    '# boots the hypervisor with the boot media\'s own grub.cfg.',
    `echo tsx-hv: network boot from ${server} (\${platform})`,
    'iseq ${platform} efi && goto uefi || goto bios',
    ':bios',
    `chain ${url(NETBOOT_PATHS.biosCore)} || goto failed`,
    'exit',
    ':uefi',
    `chain ${url(NETBOOT_PATHS.uefiCore)} || goto failed`,
    'exit',
    ':failed',
    `echo tsx-hv: could not load GRUB from ${server}`,
    'exit 1',
  ].join('\n') + '\n';
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/** The build outputs the tree is made of; a missing one means `tsx-hv build` has not run (there). */
async function checkSources(sources: NetbootSources): Promise<void> {
  const missing: string[] = [];
  for (const path of Object.values(sources)) {
    if (!(await stat(path).then((s) => s.isFile(), () => false))) missing.push(path);
  }
  if (missing.length) {
    throw new TsxHvError('MISSING_BUILD', `the boot media's files are not built: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing`, {
      hint: 'run `tsx-hv build` first (or give --build-dir, the directory `tsx-hv build --out` wrote to)',
    });
  }
}

/** Why dnsmasq could not serve `iface` with this address on this machine (or nothing). */
function interfaceWarnings(iface: string, subnet: Subnet): Promise<string[]> {
  return exists(join('/sys/class/net', iface)).then((present) => {
    if (!present) return [`there is no interface ${iface} on this machine: dnsmasq will not start here (copy the tree to the lab server, or check \`ip link\`)`];
    const addresses = (networkInterfaces()[iface] ?? []).map((a) => a.address);
    if (!addresses.includes(subnet.address)) {
      return [`${iface} does not carry ${subnet.address} (it has ${addresses.join(', ') || 'no address'}): add it first, e.g. \`ip addr add ${subnet.address}/${subnet.prefixLength} dev ${iface}\``];
    }
    return [];
  });
}

/** Every directory 0755 and every file 0644: dnsmasq reads the tree after dropping root. */
async function makeWorldReadable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await makeWorldReadable(path);
    else await chmod(path, 0o644);
  }
}

async function writeTree(plan: NetbootPlan, into: string, signal?: AbortSignal): Promise<void> {
  const grubDir = join(into, NETBOOT_PATHS.grubDir);
  await mkdir(grubDir, { recursive: true });
  // grub-mknetdir installs each platform's modules (and images we replace): no translations,
  // themes or fonts, which a serial-console menu does not use.
  await run('grub-mknetdir', [`--net-directory=${into}`, `--subdir=${NETBOOT_PATHS.grubDir}`, '--locales=', '--themes=', '--fonts='], { signal });
  for (const p of GRUB_PLATFORMS) {
    const modules = await locateData(p.data);
    // grub-mknetdir's own images find the TFTP server through DHCP's "next server", which under
    // proxy-DHCP is the network's DHCP server, not this one (GRUB then asks it for normal.mod
    // in vain): these name the server by address and load the media's grub.cfg from it.
    await rm(join(grubDir, p.platform, 'grub.cfg'), { force: true });
    await run('grub-mkimage', ['-d', modules, '-O', p.format, '-p', plan.grubPrefix, '-o', join(into, p.core), ...p.modules, ...GRUB_CONFIG_MODULES], { signal });
  }
  throwIfInterrupted(signal);
  await mkdir(join(into, dirname(MEDIA_PATHS.hvElf)), { recursive: true });
  await copyFile(plan.sources.hvElf, join(into, MEDIA_PATHS.hvElf));
  await copyFile(plan.sources.hvEfiElf, join(into, MEDIA_PATHS.hvEfiElf));
  await copyFile(plan.sources.vmlinuz, join(into, MEDIA_PATHS.vmlinuz));
  await copyFile(plan.sources.initrd, join(into, MEDIA_PATHS.initrd));
  await copyFile(plan.sources.grubCfg, join(into, MEDIA_PATHS.grubCfg));
  await writeFile(join(into, NETBOOT_PATHS.ipxeScript), plan.ipxeScriptText);
  await makeWorldReadable(into);
}

/**
 * Renders the netboot tree and dnsmasq.conf into `out` (replacing an earlier tree there), or
 * with `dryRun` only checks and renders. Throws UsageError (exit 2) for bad options and a
 * MISSING_BUILD error (exit 1) when the media's files are not built.
 */
export async function netboot(opts: NetbootOptions): Promise<NetbootResult> {
  const dnsmasq = await findTool('dnsmasq');
  const plan = planNetboot(opts, dnsmasq ?? 'dnsmasq');
  await checkSources(plan.sources);
  const warnings = await interfaceWarnings(plan.interface, plan.subnet);
  if (dnsmasq === null) warnings.push(`dnsmasq is not installed here (Debian: ${toolSpec('dnsmasq')!.packages.debian})`);
  const bootFiles = [NETBOOT_PATHS.ipxeScript, NETBOOT_PATHS.biosCore, NETBOOT_PATHS.uefiCore, MEDIA_PATHS.grubCfg, MEDIA_PATHS.hvElf, MEDIA_PATHS.vmlinuz, MEDIA_PATHS.initrd];
  if (!opts.dryRun) {
    // An existing tftp/ is replaced only when it is one of ours (it has the iPXE script), so a
    // mistyped --out never empties someone else's directory.
    if ((await exists(plan.tftpRoot)) && !(await exists(join(plan.tftpRoot, NETBOOT_PATHS.ipxeScript)))) {
      throw new UsageError(`${plan.tftpRoot} exists and is not a tsx-hv netboot tree`, 'choose another --out, or remove that directory yourself');
    }
    await mkdir(plan.out, { recursive: true });
    const staging = `${plan.tftpRoot}.part`;
    await rm(staging, { recursive: true, force: true });
    try {
      // Under the build lock: a `tsx-hv build` running meanwhile cannot swap the hypervisor,
      // kernel or grub.cfg halfway through the copy.
      await withBuildLock(plan.buildDir, async () => {
        await checkSources(plan.sources);
        await writeTree(plan, staging, opts.signal);
      }, undefined, opts.signal);
      await rm(plan.tftpRoot, { recursive: true, force: true });
      await rename(staging, plan.tftpRoot);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    await writeFile(plan.dnsmasqConf, plan.dnsmasqConfText, { mode: 0o644 });
    await chmod(plan.out, 0o755);
  }
  return { ...plan, dryRun: Boolean(opts.dryRun), bootFiles, warnings };
}

