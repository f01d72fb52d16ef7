import t from 'tap';
import { join } from 'node:path';
import { REMOTE_AGENT, remoteSshArgs, startRemote } from '../../../src/engines/remote.js';
import { buildLayout } from '../../../src/builder/layout.js';
import { compileAgent } from '../../../src/builder/compile.js';
import { boot } from '../../../src/scenario/boot.js';
import { startLocalSshd } from '../provision/local-sshd.js';

t.test('the ssh command: BatchMode, port, key, options, the agent in serve mode, sudo -n for other users', async (t) => {
  const root = remoteSshArgs({ target: 'ssh://root@lab-17:2222', identity: '/k', sshOptions: ['StrictHostKeyChecking=accept-new'] });
  t.same(root.slice(0, 9), ['-T', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=15', '-o', 'ServerAliveInterval=5', '-o', 'ServerAliveCountMax=3']);
  t.same(root.slice(9), ['-p', '2222', '-i', '/k', '-o', 'StrictHostKeyChecking=accept-new', 'root@lab-17', '--', `exec ${REMOTE_AGENT} serve -`]);
  t.equal(remoteSshArgs({ target: 'ssh://ops@lab-17' }).at(-1), `exec sudo -n ${REMOTE_AGENT} serve -`);
  t.equal(remoteSshArgs({ target: 'ssh://lab-17', agentPath: "/opt/my agent" }).at(-1), "exec '/opt/my agent' serve -");
  t.throws(() => remoteSshArgs({ target: 'dir:/x' }), { name: 'UsageError', message: /ssh:\/\// });
  t.throws(() => remoteSshArgs({ target: 'ssh://' }), { name: 'UsageError' });
});

t.test('a real ssh session to the real agent: ready line, clock and exec requests; no control port, no keys; power-off only detaches', async (t) => {
  const sshd = await startLocalSshd();
  t.teardown(() => sshd.stop());
  const agent = buildLayout().agent;
  await compileAgent(buildLayout().source, agent);
  const m = await startRemote({ target: sshd.spec, identity: sshd.ssh.identity, sshOptions: sshd.ssh.options, agentPath: agent });
  const { ready } = await m.waitForReady();
  t.equal(ready.hypervisor, null, 'this host is not under tsx-hv: the agent says so');
  t.equal(m.engine, 'ssh');
  t.match(await m.agent('clock'), /^mono=\d+ real=\d+ tsc=\d+$/);
  t.match(await m.agent(`exec ${Buffer.from('echo remote').toString('base64')}`), /^exit=0 len=7 dropped=0 out=cmVtb3RlCg==$/);
  await t.rejects(m.control('status'), { code: 'NO_CONTROL_PORT', message: /reached over ssh/ });
  await t.rejects(m.sendKeys(['ctrl', 'alt', 'f12']), { code: 'NO_KEYBOARD' });
  const off = await m.powerOff();
  t.equal(off.method, 'detach');
  t.equal(m.running, false);
  t.equal((await m.powerOff()).method, 'already-off');
});

t.test('a failed ssh session says why: no agent on the target, a key the target refuses', async (t) => {
  const sshd = await startLocalSshd();
  t.teardown(() => sshd.stop());
  // This host has no /usr/local/sbin/tsx-hv-agent: the remote shell cannot run it.
  await t.rejects(boot({ target: sshd.spec, identity: sshd.ssh.identity, sshOptions: sshd.ssh.options, readyTimeoutMs: 30_000 }), { code: 'SSH_FAILED', message: /ended before its tsx-hv agent answered.*(not found|No such file)/, hint: /provision --agent/ });
  const bad = await startRemote({ target: sshd.spec, identity: join(buildLayout().out, 'no-such-key'), sshOptions: sshd.ssh.options, agentPath: buildLayout().agent });
  await t.rejects(bad.waitForReady(20_000), { code: 'SSH_FAILED', message: /ended before its tsx-hv agent answered/ });
});
