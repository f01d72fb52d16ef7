/**
 * No orphaned emulators: every emulator process this Node process starts is registered here and
 * killed (SIGKILL) when Node exits normally or on SIGINT/SIGTERM/SIGHUP. The emulator is also
 * started under `setpriv --pdeathsig KILL`, so the kernel kills it if Node dies by SIGKILL.
 */
interface Killable {
  kill(signal?: NodeJS.Signals | number): boolean;
}

const live = new Set<Killable>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function killAll(): void {
  for (const p of live) p.kill('SIGKILL');
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  uninstall();
  // Nobody else handles it: die of the signal as Node would have without our handler.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  process.on('exit', killAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  process.off('exit', killAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

export function track(p: Killable): void {
  if (live.size === 0) install();
  live.add(p);
}

export function untrack(p: Killable): void {
  if (live.delete(p) && live.size === 0) uninstall();
}

export function trackedCount(): number {
  return live.size;
}
