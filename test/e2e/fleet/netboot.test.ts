/**
 * `tsx-hv fleet netboot` for real: the CLI renders the tree and dnsmasq.conf inside a lab
 * network made of network namespaces, dnsmasq runs with the printed command, and QEMU machines
 * on a tap of that network boot over it until the hypervisor logs on its own port (COM2) that
 * it starts the guest.
 *
 * Each firmware boots under both kinds of server (four boots, one QEMU at a time):
 * - BIOS: SeaBIOS with the iPXE ROM of Debian's ipxe-qemu (e1000): iPXE gets the iPXE script,
 *   which chains GRUB's i386-pc-pxe image.
 * - UEFI: OVMF's own PXE client on a virtio NIC without option ROM (no iPXE): the firmware
 *   gets GRUB's x86_64-efi image directly.
 * - proxy-DHCP: a second dnsmasq in its own namespace plays the network's DHCP server and hands
 *   out the address; tsx-hv's only adds the boot answers.
 * - DHCP of an isolated lab network (--dhcp-range): tsx-hv's dnsmasq alone.
 *
 * The lab namespace has only its bridge's subnet: no default route, nothing reaches the host's
 * network. About 80 s in all here (boots of 10-25 s under QEMU TCG).
 */
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, chmodSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OVMF_CODE, OVMF_VARS, QEMU_BINARY, QEMU_CPU } from '../../../src/engines/qemu-args.js';
import { runProgram as run } from '../../../src/util/run.js';
import { standardMedia } from '../hv/fixtures.js';
import { CLI } from '../flash/fixtures.js';

const LAB = `tsxnb${process.pid}`;
const DHCP = `tsxnbd${process.pid}`;
const SERVER = '10.77.0.1';
const OTHER_DHCP_SERVER = '10.77.0.2';
const OTHER_DHCP_RANGE = ['10.77.0.100', '10.77.0.150'] as const;
const LAB_RANGE = ['10.77.0.50', '10.77.0.60'] as const;
const HV_STARTS_GUEST = '# tsx-hv: guest starting';
const BOOT_TIMEOUT_MS = 180_000;
const MAC = { bios: '52:54:00:77:00:10', uefi: '52:54:00:77:00:20' } as const;

function skipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root: network namespaces, a bridge and a tap device';
  if (!existsSync('/proc/self/ns/net')) return 'the kernel has no network namespaces (CONFIG_NET_NS)';
  return null;
}

interface Daemon {
  child: ChildProcess;
  log: () => string;
}

/** A long-lived program in a namespace, in its own process group, killed at the end of `t`. */
function spawnIn(t: Test, ns: string, argv: readonly string[]): Daemon {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  child.stdout!.on('data', (d) => (log += String(d)));
  child.stderr!.on('data', (d) => (log += String(d)));
  t.teardown(() => stop(child));
  return { child, log: () => log };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    return; // the group has already gone
  }
  await exited;
}

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

/** br0 (this host, 10.77.0.1/24) with the machines' tap0 and a veth to the namespace of the network's DHCP server. */
async function makeLabNetwork(): Promise<void> {
  await ip('netns', 'add', LAB);
  await ip('netns', 'add', DHCP);
  await ip('-n', LAB, 'link', 'set', 'lo', 'up');
  await ip('-n', LAB, 'link', 'add', 'br0', 'type', 'bridge');
  await ip('-n', LAB, 'addr', 'add', `${SERVER}/24`, 'dev', 'br0');
  await ip('-n', LAB, 'link', 'set', 'br0', 'up');
  await ip('-n', LAB, 'tuntap', 'add', 'dev', 'tap0', 'mode', 'tap');
  await ip('-n', LAB, 'link', 'set', 'tap0', 'master', 'br0', 'up');
  await ip('-n', LAB, 'link', 'add', 'vdhcp', 'type', 'veth', 'peer', 'name', 'vlab', 'netns', DHCP);
  await ip('-n', LAB, 'link', 'set', 'vdhcp', 'master', 'br0', 'up');
  await ip('-n', DHCP, 'addr', 'add', `${OTHER_DHCP_SERVER}/24`, 'dev', 'vlab');
  await ip('-n', DHCP, 'link', 'set', 'vlab', 'up');
}

interface Rendered {
  code: number | null;
  stderr: string;
  doc: {
    mode: string;
    tftpRoot: string;
    dnsmasqConf: string;
    command: string[];
    warnings: string[];
    bootFiles: string[];
  };
}

/** The real CLI, run inside the lab namespace as an operator on the lab server would. */
function renderNetboot(args: string[]): Promise<Rendered> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', LAB, process.execPath, CLI, '--json', 'fleet', 'netboot', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve({ code, stderr, doc: JSON.parse(stdout) as Rendered['doc'] });
      } catch {
        reject(new Error(`no JSON document from fleet netboot (exit ${code}):\n${stderr}\n${stdout}`));
      }
    });
  });
}

/** A QEMU machine on tap0 that boots from the network; resolves when the hypervisor starts the guest. */
async function netbootMachine(t: Test, dir: string, name: string, firmware: 'bios' | 'uefi'): Promise<{ hvLog: string; console: string; ms: number }> {
  const consoleLog = join(dir, `${name}-com1.log`);
  const hvLog = join(dir, `${name}-com2.log`);
  const args = ['-machine', 'pc', '-cpu', QEMU_CPU, '-m', '1024', '-display', 'none', '-monitor', 'none', '-no-reboot', '-netdev', 'tap,id=lab,ifname=tap0,script=no,downscript=no'];
  if (firmware === 'bios') {
    // QEMU's e1000 carries Debian's iPXE ROM (ipxe-qemu): SeaBIOS boots it.
    args.push('-device', `e1000,netdev=lab,mac=${MAC.bios}`);
  } else {
    // No option ROM: OVMF's own virtio-net driver and PXE client, as on a machine without iPXE.
    const vars = join(dir, `${name}-OVMF_VARS.fd`);
    copyFileSync(OVMF_VARS, vars);
    args.push('-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,file=${vars}`);
    args.push('-device', `virtio-net-pci,netdev=lab,mac=${MAC.uefi},romfile=`);
  }
  args.push('-boot', 'n', '-serial', `file:${consoleLog}`, '-serial', `file:${hvLog}`);
  const t0 = Date.now();
  const qemu = spawnIn(t, LAB, [QEMU_BINARY, ...args]);
  const read = (path: string) => (existsSync(path) ? readFileSync(path, 'latin1') : '');
  while (Date.now() - t0 < BOOT_TIMEOUT_MS && !read(hvLog).includes(HV_STARTS_GUEST)) {
    if (qemu.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const result = { hvLog: read(hvLog), console: read(consoleLog), ms: Date.now() - t0 };
  if (!result.hvLog.includes(HV_STARTS_GUEST)) t.comment(`QEMU: ${qemu.log()}`);
  await stop(qemu.child);
  return result;
}

/** The files dnsmasq says it sent over TFTP, relative to its root. */
function sentFiles(log: string, tftpRoot: string): string[] {
  return [...log.matchAll(/dnsmasq-tftp\[\d+\]: sent (\S+) to /g)].map((m) => m[1]!.replace(`${tftpRoot}/`, ''));
}

/** What the machine must have loaded over TFTP, in order (GRUB's module lists aside). */
function expectedFiles(firmware: 'bios' | 'uefi'): string[] {
  const media = ['boot/grub/grub.cfg', 'boot/tsx-hv.elf', 'boot/vmlinuz', 'boot/initrd.img'];
  return firmware === 'bios' ? ['tsx-hv.ipxe', 'boot/grub/i386-pc/core.0', ...media] : ['boot/grub/x86_64-efi/core.efi', ...media];
}

/**
 * Renders with the CLI, starts dnsmasq with the printed command (and, for proxy-DHCP, the
 * network's own DHCP server), boots one machine and checks who answered and what it loaded.
 */
async function netbootCase(t: Test, dir: string, firmware: 'bios' | 'uefi', mode: 'proxy' | 'dhcp'): Promise<void> {
  const out = join(dir, `${firmware}-${mode}`);
  const rendered = await renderNetboot(['--interface', 'br0', '--server', `${SERVER}/24`, '--out', out, ...(mode === 'dhcp' ? ['--dhcp-range', LAB_RANGE.join('-')] : [])]);
  if (rendered.code !== 0) t.comment(rendered.stderr);
  t.equal(rendered.code, 0, 'fleet netboot renders');
  t.equal(rendered.doc.mode, mode);
  t.same(rendered.doc.warnings, [], 'br0 exists in the lab and carries the server address');
  t.ok(rendered.stderr.includes(`start it (as root): ${rendered.doc.command.join(' ')}`), 'the CLI prints the dnsmasq command');
  const conf = readFileSync(rendered.doc.dnsmasqConf, 'utf8');
  if (mode === 'proxy') t.match(conf, /^dhcp-range=10\.77\.0\.0,proxy,255\.255\.255\.0$/m);
  else t.match(conf, /^dhcp-range=10\.77\.0\.50,10\.77\.0\.60,255\.255\.255\.0,1h$/m);

  let other: Daemon | undefined;
  if (mode === 'proxy') {
    const otherConf = join(dir, `${firmware}-other-dhcp.conf`);
    writeFileSync(otherConf, ['port=0', 'interface=vlab', 'bind-interfaces', 'pid-file=', 'log-facility=-', `dhcp-range=${OTHER_DHCP_RANGE.join(',')},255.255.255.0,1h`, `dhcp-leasefile=${join(dir, `${firmware}-other.leases`)}`, ''].join('\n'));
    other = spawnIn(t, DHCP, ['dnsmasq', '--keep-in-foreground', `--conf-file=${otherConf}`]);
  }
  const server = spawnIn(t, LAB, rendered.doc.command);
  const boot = await netbootMachine(t, dir, `${firmware}-${mode}`, firmware);
  t.comment(`${firmware.toUpperCase()} network boot (${mode}) to the hypervisor starting the guest: ${(boot.ms / 1000).toFixed(1)} s`);
  const started = boot.hvLog.includes(HV_STARTS_GUEST);
  if (!started) {
    t.comment(`tsx-hv's dnsmasq:\n${server.log().slice(-4000)}`);
    if (other) t.comment(`the network's DHCP server:\n${other.log().slice(-1500)}`);
    t.comment(`console (COM1):\n${boot.console.slice(-3000)}`);
    t.comment(`hypervisor port (COM2):\n${boot.hvLog.slice(-2000)}`);
  }
  t.ok(started, `the hypervisor logs "${HV_STARTS_GUEST}" on its port (COM2)`);
  t.match(boot.hvLog, /# tsx-hv: tsx-hv starting/, 'the hypervisor started');
  const mac = MAC[firmware];
  if (firmware === 'uefi') t.match(server.log(), /vendor class: PXEClient:Arch:0000[79]/, 'a UEFI x86-64 PXE client asked');
  if (mode === 'proxy') {
    t.match(other!.log(), new RegExp(`DHCPACK\\(vlab\\) 10\\.77\\.0\\.(1[0-4][0-9]|150) ${mac}`), 'the network\'s DHCP server gave the machine its address');
    t.match(server.log(), new RegExp(`PXE\\(br0\\) .*${mac} proxy`), 'tsx-hv\'s dnsmasq answered as proxy-DHCP');
    t.notMatch(server.log(), /DHCPACK/, 'tsx-hv\'s dnsmasq handed out no address');
  } else {
    t.match(server.log(), new RegExp(`DHCPACK\\(br0\\) 10\\.77\\.0\\.(5[0-9]|60) ${mac}`), 'tsx-hv\'s dnsmasq gave the address from the lab range');
  }
  // dnsmasq logs "sent" when the client acknowledges a file's last block. The machine may jump
  // into the hypervisor before that acknowledgement of the last file (the initrd) is out (seen
  // under OVMF in CI): then it is the hypervisor that shows the whole initrd arrived.
  const want = expectedFiles(firmware);
  let sent: string[] = [];
  for (let i = 0; i < 20; i++) {
    const all = sentFiles(server.log(), rendered.doc.tftpRoot).filter((f) => !f.endsWith('.mod') && !f.endsWith('.lst'));
    sent = all.filter((f, j) => all.indexOf(f) === j);
    if (sent.length >= want.length) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (sent.length === want.length - 1) {
    const size = statSync(join(rendered.doc.tftpRoot, 'boot/initrd.img')).size;
    const loaded = /initrd [0-9a-f]+ \(\+([0-9a-f]+)\)/.exec(boot.hvLog)?.[1];
    t.comment(`dnsmasq did not log the initrd's completion; the hypervisor loaded ${loaded ? parseInt(loaded, 16) : '?'} of its ${size} bytes`);
    t.equal(loaded === undefined ? -1 : parseInt(loaded, 16), size, 'the whole initrd reached the hypervisor');
    sent.push('boot/initrd.img');
  }
  t.same(sent, want, 'the boot files, then the media\'s grub.cfg, hypervisor, kernel and initrd, all from tsx-hv\'s server');
  await stop(server.child);
  if (other) await stop(other.child);
}

const reason = skipReason();
if (reason) {
  t.plan(0, `fleet netboot e2e skipped: ${reason}`);
} else {
  await standardMedia(); // build/ holds the hypervisor, kernel, initrd and grub.cfg
  const dir = mkdtempSync(join(tmpdir(), 'tsx-hv-netboot-'));
  chmodSync(dir, 0o755); // dnsmasq serves TFTP as an unprivileged user
  t.teardown(async () => {
    await run('ip', ['netns', 'del', LAB], { allowFailure: true });
    await run('ip', ['netns', 'del', DHCP], { allowFailure: true });
    rmSync(dir, { recursive: true, force: true });
  });
  await makeLabNetwork();

  t.test('the lab network has no route off its own subnet', async (t) => {
    const routes = (await run('ip', ['-n', LAB, 'route', 'show', 'table', 'all'])).stdout;
    t.notMatch(routes, /^default/m, 'no default route in the lab namespace');
    t.match(routes, /^10\.77\.0\.0\/24 dev br0/m);
  });

  for (const firmware of ['bios', 'uefi'] as const) {
    for (const mode of ['proxy', 'dhcp'] as const) {
      const how = firmware === 'bios' ? 'SeaBIOS + iPXE' : 'OVMF\'s own PXE (no iPXE)';
      const where = mode === 'proxy' ? 'through proxy-DHCP beside the network\'s DHCP server' : 'with the DHCP of an isolated lab network';
      t.test(`${firmware.toUpperCase()}: ${how} boots the hypervisor ${where}`, (t) => netbootCase(t, dir, firmware, mode));
    }
  }
}
