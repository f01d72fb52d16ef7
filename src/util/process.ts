/**
 * Whether process `pid` exists on this machine: signal 0 checks without sending anything. EPERM
 * means it exists but belongs to another user. Not a positive integer (a corrupt pid file) is not
 * a process: `kill(0, 0)` would address our own process group and `kill(-1, 0)` every process.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
