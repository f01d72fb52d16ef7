// npm run bench:disk-boot - how long an installed system takes to boot to multi-user with and
// without the hypervisor (issue 15: goal within 20%), side by side in one run.
//
// Two copies of the bootable Debian bookworm disk of test/e2e/disk/fixtures.ts, both provisioned
// offline with `--agent --agent-console` (so each boots the same units and answers on its console);
// one also with `--hypervisor --default`. Each copy is booted once first (the first boot runs the
// first-boot update-grub; not measured), then ROUNDS times alternately (TSX_HV_BOOT_ROUNDS,
// default 3), one machine at a time, QEMU TCG, 1 CPU, 512M. A boot is measured from the
// emulator's start to systemd's "running"/"degraded" (`systemctl is-system-running --wait` through
// the agent, src/scenario/boot.ts); the boots under the hypervisor
// must show the tsx-hv CPUID signature, the others none.
// The table goes to stderr; the last line on stdout is one JSON object:
//   {"noHv":{"bootS":[..],"medianS":..},"hv":{...},"ratio":..}
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot } from '../../src/scenario/boot.js';
import { provision } from '../../src/provision/provision.js';
import { freshDisk } from '../../test/e2e/disk/fixtures.js';

const ROUNDS = Number(process.env.TSX_HV_BOOT_ROUNDS) > 0 ? Number(process.env.TSX_HV_BOOT_ROUNDS) : 3;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Boot {
  upS: number;
}

async function bootOnce(disk: string, expectHv: boolean): Promise<Boot> {
  const m = await boot({ disks: [disk], boot: 'disk' });
  try {
    const hv = m.info.hypervisor ?? null;
    if ((hv === 'tsx-hv-vtime') !== expectHv) throw new Error(`${disk}: the guest saw hypervisor ${String(hv)}, expected ${expectHv ? 'tsx-hv' : 'none'}`);
    return { upS: (m.info.bootMs ?? 0) / 1000 };
  } finally {
    await m.powerOff();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'tsx-hv-bench-disk-'));
try {
  const plain = await freshDisk(dir, 'plain.raw');
  const hv = await freshDisk(dir, 'hv.raw');
  await provision({ target: `image:${plain}`, agent: { console: 'ttyS0' } });
  await provision({ target: `image:${hv}`, agent: { console: 'ttyS0' }, hypervisor: { makeDefault: true } });
  log('first boots (first-boot update-grub; not measured) ...');
  await bootOnce(plain, false);
  await bootOnce(hv, true);
  const results = { noHv: [] as number[], hv: [] as number[] };
  log('round  without hypervisor  under the hypervisor   (s to systemd running, QEMU TCG, 1 CPU)');
  for (let r = 1; r <= ROUNDS; r++) {
    const a = await bootOnce(plain, false);
    const b = await bootOnce(hv, true);
    results.noHv.push(a.upS);
    results.hv.push(b.upS);
    log(`${String(r).padStart(5)}  ${a.upS.toFixed(1).padStart(18)}  ${b.upS.toFixed(1).padStart(20)}`);
  }
  const out = {
    rounds: ROUNDS,
    noHv: { bootS: results.noHv, medianS: median(results.noHv) },
    hv: { bootS: results.hv, medianS: median(results.hv) },
    ratio: Number((median(results.hv) / median(results.noHv)).toFixed(3)),
  };
  log(`median ${out.noHv.medianS.toFixed(1).padStart(18)}  ${out.hv.medianS.toFixed(1).padStart(20)}   ratio ${out.ratio} (goal <= 1.2)`);
  console.log(JSON.stringify(out));
} finally {
  await rm(dir, { recursive: true, force: true });
}
