/**
 * A real sshd for unit tests of the ssh target: this host's own sshd binary, listening on
 * 127.0.0.1 with a throwaway host key and a test key as the only authorised key. Tests work in
 * temporary directories (or only read), never on the host's configuration.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram as run } from '../../../src/util/run.js';

export interface LocalSshd {
  spec: string;
  ssh: { identity: string; options: string[] };
  stop(): Promise<void>;
}

export async function startLocalSshd(): Promise<LocalSshd> {
  const dir = await mkdtemp(join(tmpdir(), 'provision-sshd-'));
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host')]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
  await copyFile(join(dir, 'key.pub'), join(dir, 'authorized_keys'));
  await chmod(join(dir, 'authorized_keys'), 0o600);
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const ssh = { identity: join(dir, 'key'), options: ['StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null', 'LogLevel=ERROR'] };
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const sshd: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', '/dev/null', '-p', String(port), '-o', 'ListenAddress=127.0.0.1', '-o', `HostKey=${join(dir, 'host')}`, '-o', `AuthorizedKeysFile=${join(dir, 'authorized_keys')}`, '-o', 'PidFile=none', '-o', 'UsePAM=no', '-o', 'StrictModes=no'], { stdio: 'ignore' });
    for (let i = 0; i < 50; i++) {
      const probe = await run('ssh', ['-i', ssh.identity, '-p', String(port), '-o', 'BatchMode=yes', ...ssh.options.flatMap((o) => ['-o', o]), 'root@127.0.0.1', 'true'], { allowFailure: true });
      if (probe.exitCode === 0) {
        return {
          spec: `ssh://root@127.0.0.1:${port}`,
          ssh,
          stop: async () => {
            sshd.kill('SIGTERM');
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      if (sshd.exitCode !== null) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    sshd.kill('SIGKILL');
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error('could not start a local sshd');
}
