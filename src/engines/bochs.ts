/**
 * The Bochs engine: Bochs 2.7 interprets an Intel CPU with VT-x (or an AMD one with SVM), so the
 * hypervisor's VMX backend runs where no hardware offers VT-x (docs/engines.md). The guest
 * console (COM1) and the hypervisor port (COM2) are TCP servers of Bochs on localhost; keys go
 * through its RFB display; power goes through the agent or a signal.
 */
import { createWriteStream } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { ToolFailedError, TsxHvError, UsageError } from '../errors.js';
import { locateData, locateTool } from '../doctor/locate.js';
import { BOCHS_DEBUGGER_COMMANDS, DEFAULT_IPS, bindFailed, interpretBochsExit, renderBochsrc, rfbPortFromLog } from './bochs-config.js';
import { chooseBaselineEntry } from './grub-menu.js';
import { ENGINE_TIMING, type EngineMachine, type MachineOptions, type MachinePaths } from './machine.js';
import type { ProgramPath } from '../util/run.js';
import { track } from './reaper.js';
import { RfbClient } from './rfb.js';
import { SerialMachine, connectWhenReady, sleep, type PowerOffStep } from './serial-machine.js';

/** The program, for messages (found through the doctor catalog). */
const BOCHS = 'bochs';
const LOCALHOST = '127.0.0.1';
/** Bochs reads its configuration and sets up its devices in well under a second; a loaded host gets more. */
const CONNECT_TIMEOUT_MS = 30_000;
/** Firmware and GRUB take a few seconds under Bochs: the menu is there long before this. */
const GRUB_MENU_TIMEOUT_MS = 120_000;
/** Bochs logs the RFB port while it sets up the display, before it waits for COM1. */
const RFB_PORT_TIMEOUT_MS = 10_000;
/** Tries with fresh ports when Bochs could not listen on one (another program took it meanwhile). */
const PORT_ATTEMPTS = 3;

/** A TCP port nobody listens on right now: bound to port 0 and released. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(0, LOCALHOST, res);
  });
  const address = server.address();
  await new Promise<void>((res) => server.close(() => res()));
  if (address === null || typeof address === 'string') throw new TsxHvError('NO_PORT', 'could not find a free TCP port');
  return address.port;
}

class BochsMachine extends SerialMachine {
  private rfb: Promise<RfbClient> | undefined;

  attach(consoleSocket: Socket, hvSocket: Socket): void {
    this.attachPorts(consoleSocket, hvSocket);
  }

  /**
   * Keys through Bochs' RFB server. The connection stays open until Bochs exits: Bochs writes
   * screen updates to it from its emulation thread and could be hit by SIGPIPE if it went away.
   */
  async sendKeys(keys: readonly string[], holdTimeMs?: number): Promise<void> {
    const rfb = this.paths.rfb;
    if (!rfb) throw new TsxHvError('NO_KEYBOARD', `Bochs did not log the port of its RFB display, so keys cannot be typed`, { hint: `see ${this.paths.emulatorLog}` });
    const [host, port] = [rfb.slice(0, rfb.lastIndexOf(':')), Number(rfb.slice(rfb.lastIndexOf(':') + 1))];
    if (!this.rfb) {
      // A failed connection is tried again at the next call.
      this.rfb = RfbClient.connect(host, port);
      this.rfb.catch(() => (this.rfb = undefined));
    }
    await (await this.rfb).sendKeys(keys, holdTimeMs);
  }

  protected override stopped(): void {
    void this.rfb?.then((c) => c.close(), () => undefined);
  }

  /** Bochs has no power button the host can press: SIGTERM, which ends it at once. */
  protected powerOffSteps(): PowerOffStep[] {
    return [{ method: 'term', run: async () => this.child.kill('SIGTERM') }];
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Reads the RFB port from Bochs' log, waiting while Bochs is still setting up. */
async function waitForRfbPort(logPath: string, stopped: () => boolean): Promise<number | undefined> {
  const deadline = Date.now() + RFB_PORT_TIMEOUT_MS;
  for (;;) {
    const port = rfbPortFromLog(await readFile(logPath, 'utf8').catch(() => ''));
    if (port !== undefined || stopped() || Date.now() > deadline) return port;
    await sleep(50);
  }
}

/**
 * Boots `media` in Bochs with an Intel VT-x CPU (`cpuVendor: 'amd'`: SVM); resolves once both
 * serial ports are connected (and, for `hypervisor: false`, the baseline entry is chosen).
 */
export async function startBochs(opts: MachineOptions & { media: string }): Promise<EngineMachine> {
  const media = resolve(opts.media);
  if (!(await exists(media))) throw new UsageError(`boot media ${opts.media} does not exist`, 'run `tsx-hv build` first, or pass --media FILE');
  if ((opts.firmware ?? 'bios') !== 'bios') throw new UsageError('Bochs boots with its BIOS only', 'drop --uefi, or use --engine qemu for UEFI');
  const [setpriv, bochs] = [await locateTool('setpriv'), await locateTool('bochs')];
  const [bios, vgaBios] = [await locateData('bochsbios'), await locateData('vgabios')];
  for (let attempt = 1; ; attempt++) {
    const r = await launch({ setpriv, bochs, bios, vgaBios, media, opts });
    if (typeof r !== 'string') return r;
    // Keep the last attempt's work directory: its logs say what happened.
    if (attempt === PORT_ATTEMPTS) {
      const output = await readFile(join(r, 'bochs.out'), 'utf8').catch(() => '');
      throw new ToolFailedError(BOCHS, undefined, output, { hint: `it found no free TCP port for its serial ports in ${PORT_ATTEMPTS} attempts; logs in ${r}` });
    }
    await rm(r, { recursive: true, force: true });
  }
}

interface Launch {
  setpriv: ProgramPath;
  bochs: ProgramPath;
  bios: string;
  vgaBios: string;
  media: string;
  opts: MachineOptions;
}

/** A write stream for the engine's stdout and stderr, ended once both are; `closed` settles then. */
function engineOutput(path: string, streams: readonly (NodeJS.ReadableStream | null | undefined)[]): { closed: Promise<void> } {
  const log = createWriteStream(path);
  log.on('error', () => undefined);
  const closed = new Promise<void>((r) => log.once('close', () => r()));
  let open = streams.filter(Boolean).length;
  for (const s of streams) {
    if (!s) continue;
    s.pipe(log, { end: false });
    s.once('end', () => --open === 0 && log.end());
  }
  if (open === 0) log.end();
  return { closed };
}

/**
 * One start of Bochs in a fresh work directory. Resolves with the machine, or with the work
 * directory's path when Bochs could not listen on a serial port (try again with other ports).
 */
async function launch(l: Launch): Promise<EngineMachine | string> {
  const { opts } = l;
  const hypervisor = opts.hypervisor ?? true;
  const workdir = await mkdtemp(join(tmpdir(), 'tsx-hv-bochs-'));
  const [consolePort, hvPort] = [await freePort(), await freePort()];
  const rc = join(workdir, 'bochsrc');
  const commands = join(workdir, 'debugger-commands');
  const paths: MachinePaths = {
    workdir,
    console: `${LOCALHOST}:${consolePort}`,
    consoleLog: join(workdir, 'console.log'),
    hv: `${LOCALHOST}:${hvPort}`,
    hvLog: join(workdir, 'hv.log'),
    engineLog: join(workdir, 'bochs.out'),
    emulatorLog: join(workdir, 'bochs.log'),
  };
  try {
    const text = renderBochsrc({
      media: l.media,
      memory: opts.memory ?? '512M',
      cpus: opts.cpus ?? 1,
      cpuVendor: opts.cpuVendor ?? 'intel',
      ips: opts.ips ?? DEFAULT_IPS,
      consolePort,
      hvPort,
      log: paths.emulatorLog!,
      bios: l.bios,
      vgaBios: l.vgaBios,
      journal: join(workdir, 'disk.journal'),
      extraLines: opts.extraArgs,
    });
    await writeFile(rc, text);
    await writeFile(commands, BOCHS_DEBUGGER_COMMANDS);
  } catch (err) {
    await rm(workdir, { recursive: true, force: true });
    throw err;
  }
  const startedAt = performance.now();
  // setpriv --pdeathsig: the kernel kills Bochs if this process dies without cleaning up.
  // (/usr/bin/bochs is a script that execs bochs-bin: the setting survives the exec.)
  const { setpriv, bochs } = l;
  const child = execa(setpriv, ['--pdeathsig', 'KILL', '--', bochs, '-q', '-f', rc, '-rc', commands], {
    cwd: workdir,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    reject: false,
    buffer: false,
  });
  track(child);
  const output = engineOutput(paths.engineLog, [child.stdout, child.stderr]);
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));
  const machine = new BochsMachine({
    engine: 'bochs',
    program: BOCHS,
    hypervisor,
    paths,
    timing: ENGINE_TIMING.bochs,
    startedAt,
    child,
    onHvLog: opts.onHvLog,
    cleanup: opts.cleanup ?? false,
    writeLogs: true,
    interpretExit: async (exit) => interpretBochsExit(exit, await readFile(paths.emulatorLog!, 'utf8').catch(() => '')),
  });
  let exitedEarly = false;
  void machine.exited.then(() => (exitedEarly = true));
  try {
    // Bochs accepts COM1, and only then sets up and waits for COM2.
    const consoleSocket = await connectWhenReady({ host: LOCALHOST, port: consolePort }, BOCHS, () => exitedEarly, CONNECT_TIMEOUT_MS);
    const hvSocket = await connectWhenReady({ host: LOCALHOST, port: hvPort }, BOCHS, () => exitedEarly, CONNECT_TIMEOUT_MS);
    const rfbPort = await waitForRfbPort(paths.emulatorLog!, () => exitedEarly);
    if (rfbPort !== undefined) paths.rfb = `${LOCALHOST}:${rfbPort}`;
    const choosing = hypervisor ? undefined : chooseBaselineEntry(machine.console, (t) => machine.writeConsole(t), machine.exited, GRUB_MENU_TIMEOUT_MS);
    machine.attach(consoleSocket, hvSocket);
    await choosing;
    return machine;
  } catch (err) {
    const diedByItself = exitedEarly;
    await machine.kill();
    await Promise.race([output.closed, sleep(2000)]);
    if (spawnError) throw new ToolFailedError('setpriv', undefined, spawnError.message);
    const said = `${await readFile(paths.engineLog, 'utf8').catch(() => '')}\n${await readFile(paths.emulatorLog!, 'utf8').catch(() => '')}`;
    if (bindFailed(said)) return workdir;
    if (diedByItself && said.trim()) throw new ToolFailedError(BOCHS, undefined, said, { hint: `its bochsrc and logs are in ${workdir}` });
    throw err;
  }
}
