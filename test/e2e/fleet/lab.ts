/**
 * A lab of real machines for fleet tests: N QEMU machines, each on its own copy of the cached
 * installed Debian (../disk/fixtures.ts, with python3 for Ansible), on a bridge inside a network
 * namespace, each with a static address and sshd accepting the lab's key for root. The controller
 * (ssh, ansible, the tsx-hv CLI) runs inside the same namespace through `lab.exec`.
 *
 * - Copies, not overlays: a rollout changes the machines for real (packages, GRUB, reboots), and
 *   the caller's directory keeps each disk and both serial logs for a post-mortem.
 * - No -no-reboot: a rollout reboots the machines, and QEMU must reset in place and boot the disk
 *   again, as a real machine does (a reboot of one host took 34 s here, 45 s through Ansible).
 * - The image is debootstrap's minbase: no dbus, hence no logind. Ansible's reboot module runs
 *   `shutdown -r 0 MESSAGE` by default, which systemd hands to logind over D-Bus, and fails with
 *   "Failed to connect to bus"; `reboot_command: systemctl reboot` talks to systemd directly and
 *   works. Neither is there iproute2 (`ip`) on the machines.
 * - The namespace has only the bridge's subnet (no default route, no DNS): nothing leaves the
 *   machine. Its name holds the process id, so parallel test processes get their own labs.
 * - Every QEMU is killed with its parent (setpriv --pdeathsig) and by close(); the namespace goes
 *   with close().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { QEMU_BINARY, QEMU_CPU, SINGLE_THREADED_TCG } from '../../../src/engines/qemu-args.js';
import { TimeoutError } from '../../../src/errors.js';
import { runProgram as run } from '../../../src/util/run.js';
import { BIOS_IMAGE, freshDisk, withDiskRoot } from '../disk/fixtures.js';

export interface LabHost {
  /** Its hostname and its name in inventories: lab1, lab2, ... */
  name: string;
  /** Its static IPv4 address on the lab bridge (.11, .12, ...). */
  address: string;
  mac: string;
  /** Its own raw disk in the caller's directory. */
  disk: string;
  /** COM1: the kernel's and getty's console. */
  consoleLog: string;
  /** COM2: where the hypervisor logs when the machine boots under it. */
  hvLog: string;
  cpus: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** ms; past it the program is stopped and TimeoutError thrown (as runProgram does). */
  timeout?: number;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Return a non-zero exit instead of throwing. */
  allowFailure?: boolean;
}

export interface Lab {
  /** The network namespace: the controller (ansible, ssh, the tsx-hv CLI) runs inside it. */
  ns: string;
  /** e.g. 10.78.3.0/24; the namespace's own address on the bridge is .1. */
  subnet: string;
  /** The namespace's own address on the bridge (the controller's, as the machines see it). */
  gateway: string;
  /** A private ed25519 key authorised for root on every host; its .pub beside it. */
  key: string;
  /** For ssh's -o (one option each): no host key checks, since every lab's machines are new. */
  sshOptions: string[];
  hosts: LabHost[];
  /** By host name: ms from QEMU's start until the host first answered over ssh (startLab's boot). */
  bootMs: Record<string, number>;
  /** Run a program inside the namespace. */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** `ssh root@HOST COMMAND` from inside the namespace with the lab key (BatchMode); never throws on a non-zero exit. */
  ssh(host: LabHost | string, command: string, timeoutMs?: number): Promise<ExecResult>;
  /**
   * Waits until sshd answers and `systemctl is-system-running --wait` has returned (whatever the
   * state); throws with the last ssh error and the console's tail otherwise, or at once when QEMU
   * has exited. After a reboot, sshd of the old boot may still answer for a moment: compare
   * /proc/sys/kernel/random/boot_id to know which boot answered.
   */
  waitForSsh(host: LabHost | string, timeoutMs?: number): Promise<number>;
  /** Is this host's QEMU still running? */
  running(host: LabHost | string): boolean;
  /** Kills every QEMU and deletes the namespace; the caller's directory (disks, logs, key) stays. */
  close(): Promise<void>;
}

export interface LabOptions {
  /** Where the disks, serial logs and the key go; the caller removes it. */
  dir: string;
  hosts: number;
  /** CPUs per host, by index (default 1 each). */
  cpus?: number[];
  /** QEMU's -m (default 512M). */
  memory?: string;
  /** Called with each host's mounted root after the lab's own files are written, before boot. */
  beforeBoot?: (host: LabHost, root: string) => Promise<void>;
}

export const SSH_OPTIONS = ['StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null', 'LogLevel=ERROR'];
const BRIDGE = 'br0';
/** Boot to sshd and systemd settled under QEMU TCG: 30-90 s alone, more with several at once on 2 cores. */
const BOOT_TIMEOUT_MS = 10 * 60_000;
/** One ssh attempt; `is-system-running --wait` may wait long for a slow boot's last units. */
const SSH_ATTEMPT_MS = 180_000;

/** Why a lab cannot run here, or null. */
export function labSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root: a network namespace, a bridge, tap devices and loop mounts';
  if (!existsSync('/proc/self/ns/net')) return 'the kernel has no network namespaces (CONFIG_NET_NS)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun for the machines\' tap devices';
  const programs = ['ip', 'setpriv', QEMU_BINARY, 'ssh', 'ssh-keygen', 'ansible-playbook', 'losetup'];
  if (!existsSync(BIOS_IMAGE)) programs.push('debootstrap'); // the cached disk image is built on first use
  const missing = programs.filter((p) => !onPath(p));
  return missing.length ? `not installed: ${missing.join(', ')}` : null;
}

function onPath(program: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  return dirs.some((d) => d && existsSync(join(d, program)));
}

/** Shell-style single quoting where needed; Ansible's INI parser reads it on host lines and in [vars] alike. */
function iniValue(value: string): string {
  return /^[\w./:@%+,=-]+$/.test(value) ? value : `'${value.replace(/'/g, `'"'"'`)}'`;
}

/**
 * An Ansible INI inventory of the lab: every host by name with ansible_host=ADDRESS (and its
 * hostVars), connection variables for all (root, the lab key, the ssh options, python3), and the
 * given groups.
 */
export function inventoryIni(lab: Lab, opts: { groups?: Record<string, string[]>; hostVars?: Record<string, Record<string, string>> } = {}): string {
  const lines = lab.hosts.map((h) => [h.name, `ansible_host=${h.address}`, ...Object.entries(opts.hostVars?.[h.name] ?? {}).map(([k, v]) => `${k}=${iniValue(v)}`)].join(' '));
  lines.push('', '[all:vars]', 'ansible_user=root', `ansible_ssh_private_key_file=${iniValue(lab.key)}`,
    `ansible_ssh_common_args=${iniValue(lab.sshOptions.map((o) => `-o ${o}`).join(' '))}`, 'ansible_python_interpreter=/usr/bin/python3');
  for (const [group, members] of Object.entries(opts.groups ?? {})) lines.push('', `[${group}]`, ...members);
  return `${lines.join('\n')}\n`;
}

/**
 * The lab's own files on a host's root: its name, a static address that takes precedence over
 * the image's DHCP (networkd uses the first .network file in lexical order that matches, and
 * 10- sorts before the image's 20-dhcp.network), root's key, and a machine id of its own.
 */
async function personalise(root: string, host: LabHost, prefixLength: number, publicKey: string): Promise<void> {
  await writeFile(join(root, 'etc/hostname'), `${host.name}\n`);
  await writeFile(join(root, 'etc/hosts'), `127.0.0.1 localhost\n127.0.1.1 ${host.name}\n`);
  await writeFile(join(root, 'etc/systemd/network/10-lab.network'), `[Match]\nMACAddress=${host.mac}\n\n[Network]\nAddress=${host.address}/${prefixLength}\n`);
  // The image's sshd_config is Debian's: PermitRootLogin is left at its default,
  // prohibit-password, which lets root in with a key and nothing else. Nothing to change.
  await mkdir(join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
  await writeFile(join(root, 'root/.ssh/authorized_keys'), publicKey, { mode: 0o600 });
  // Every copy of the image has the machine id debootstrap gave it; distinct machines have
  // distinct ids (the journal, networkd's DHCP DUID and Ansible's facts are keyed on it).
  await writeFile(join(root, 'etc/machine-id'), `${randomBytes(16).toString('hex')}\n`);
}

interface Machine {
  child: ChildProcess;
  exited: Promise<void>;
  output: () => string;
}

function tail(path: string, chars: number): string {
  return existsSync(path) ? readFileSync(path, 'latin1').slice(-chars) : '(no console log)';
}

/**
 * Deletes this process's namespace name if it exists (a lab of an earlier process with the same
 * pid) and every lab namespace whose process is gone: a test process that was killed leaves its
 * namespace (its QEMUs die with it), and nothing else would ever remove it.
 */
async function removeStaleLabs(own: string): Promise<void> {
  const list = (await run('ip', ['netns', 'list'])).stdout;
  for (const [, name, pid] of list.matchAll(/^(tsxlab(\d+))\b/gm)) {
    if (name === own || !existsSync(`/proc/${pid}`)) await run('ip', ['netns', 'del', name!], { allowFailure: true });
  }
}

/** Starts the lab and resolves when every host answers over ssh; on failure nothing is left running. */
export async function startLab(opts: LabOptions): Promise<Lab> {
  const ns = `tsxlab${process.pid}`;
  const net = `10.78.${process.pid % 200}`;
  const subnet = `${net}.0/24`;
  const gateway = `${net}.1`;
  const key = join(opts.dir, 'lab_ed25519');
  await mkdir(opts.dir, { recursive: true });
  await rm(key, { force: true });
  await rm(`${key}.pub`, { force: true });
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `tsx-hv lab ${ns}`, '-f', key]);
  const publicKey = await readFile(`${key}.pub`, 'utf8');

  const hosts: LabHost[] = [];
  for (let i = 0; i < opts.hosts; i++) {
    const name = `lab${i + 1}`;
    const host: LabHost = {
      name,
      address: `${net}.${11 + i}`,
      mac: `52:54:00:78:00:${(0x11 + i).toString(16).padStart(2, '0')}`,
      disk: '',
      consoleLog: join(opts.dir, `${name}-console.log`),
      hvLog: join(opts.dir, `${name}-hv.log`),
      cpus: opts.cpus?.[i] ?? 1,
    };
    // One at a time: each copy reads the whole 2 GiB image (some 940 MiB of it data).
    host.disk = await freshDisk(opts.dir, `${name}.raw`);
    await withDiskRoot(host.disk, async (root) => {
      await personalise(root, host, 24, publicKey);
      await opts.beforeBoot?.(host, root);
    });
    for (const log of [host.consoleLog, host.hvLog]) await rm(log, { force: true });
    hosts.push(host);
  }

  const ip = (...args: string[]) => run('ip', args);
  await removeStaleLabs(ns);
  await ip('netns', 'add', ns);
  const machines = new Map<string, Machine>();
  const killAll = (): void => {
    for (const m of machines.values()) {
      if (m.child.pid === undefined) continue; // never started: spawn's error is in its output
      try {
        process.kill(-m.child.pid, 'SIGKILL');
      } catch {
        // the group has already gone
      }
    }
  };
  process.on('exit', killAll);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    killAll();
    await Promise.all([...machines.values()].map((m) => m.exited));
    process.off('exit', killAll);
    await run('ip', ['netns', 'del', ns], { allowFailure: true });
  };

  const find = (host: LabHost | string): LabHost => {
    const name = typeof host === 'string' ? host : host.name;
    const found = hosts.find((h) => h.name === name || h.address === name);
    if (!found) throw new Error(`no host ${name} in lab ${ns} (${hosts.map((h) => h.name).join(', ')})`);
    return found;
  };
  const exec = (argv: string[], o: ExecOptions = {}): Promise<ExecResult> =>
    run('ip', ['netns', 'exec', ns, ...argv], { allowFailure: o.allowFailure, timeout: o.timeout, env: o.env });
  const ssh = (host: LabHost | string, command: string, timeoutMs = 120_000): Promise<ExecResult> =>
    exec(['ssh', '-i', key, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', ...SSH_OPTIONS.flatMap((o) => ['-o', o]), `root@${find(host).address}`, command], { allowFailure: true, timeout: timeoutMs });
  const running = (host: LabHost | string): boolean => {
    const m = machines.get(find(host).name);
    return !!m && m.child.exitCode === null && m.child.signalCode === null;
  };
  const waitForSsh = async (host: LabHost | string, timeoutMs = BOOT_TIMEOUT_MS): Promise<number> => {
    const h = find(host);
    const t0 = Date.now();
    let last = '';
    for (;;) {
      try {
        const probe = await ssh(h, 'systemctl is-system-running --wait; true', Math.min(SSH_ATTEMPT_MS, Math.max(10_000, timeoutMs - (Date.now() - t0))));
        if (probe.exitCode === 0) return Date.now() - t0;
        last = probe.stderr.trim() || `ssh exit ${probe.exitCode}`;
      } catch (err) {
        if (!(err instanceof TimeoutError)) throw err;
        last = err.message;
      }
      if (!running(h)) throw new Error(`${h.name}'s QEMU exited before sshd answered (${machines.get(h.name)?.output().trim() ?? ''}); console:\n${tail(h.consoleLog, 3000)}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`${h.name} (${h.address}) did not answer over ssh within ${Math.round(timeoutMs / 1000)} s; last: ${last}; console:\n${tail(h.consoleLog, 3000)}`);
      await new Promise((r) => setTimeout(r, 3000));
    }
  };
  const bootMs: Record<string, number> = {};
  const lab: Lab = { ns, subnet, gateway, key, sshOptions: [...SSH_OPTIONS], hosts, bootMs, exec, ssh, waitForSsh, running, close };

  try {
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    await ip('-n', ns, 'link', 'add', BRIDGE, 'type', 'bridge');
    await ip('-n', ns, 'addr', 'add', `${gateway}/24`, 'dev', BRIDGE);
    await ip('-n', ns, 'link', 'set', BRIDGE, 'up');
    for (const [i, host] of hosts.entries()) {
      const tap = `tap${i + 1}`;
      await ip('-n', ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap');
      await ip('-n', ns, 'link', 'set', tap, 'master', BRIDGE, 'up');
      const args = ['-machine', 'pc', '-cpu', QEMU_CPU, '-m', opts.memory ?? '512M', '-smp', String(host.cpus), '-display', 'none', '-monitor', 'none',
        '-drive', `file=${host.disk},format=raw,if=ide`, '-nic', `tap,ifname=${tap},script=no,downscript=no,model=e1000,mac=${host.mac}`,
        '-serial', `file:${host.consoleLog}`, '-serial', `file:${host.hvLog}`,
        // A machine of several CPUs on single-threaded TCG, as the engine starts every multi-CPU
        // machine: QEMU's multi-threaded TCG races on vCPU 0's hflags2 (SINGLE_THREADED_TCG in
        // src/engines/qemu-args.ts) and kills the hypervisor.
        ...(host.cpus > 1 ? SINGLE_THREADED_TCG : [])];
      // Its own process group (detached), so close() kills QEMU and nothing else; pdeathsig
      // survives the exec of ip and of QEMU, so a test process that dies takes its machines along.
      const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'ip', 'netns', 'exec', ns, QEMU_BINARY, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let output = '';
      const keep = (d: Buffer): void => {
        output = (output + String(d)).slice(-4000);
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      child.on('error', (err) => keep(Buffer.from(`\n${err.message}`)));
      const exited = new Promise<void>((r) => {
        child.once('close', () => r());
        child.once('error', () => r());
      });
      machines.set(host.name, { child, exited, output: () => output });
    }
    await Promise.all(hosts.map(async (h) => {
      bootMs[h.name] = await waitForSsh(h);
    }));
  } catch (err) {
    await close();
    throw err;
  }
  return lab;
}
