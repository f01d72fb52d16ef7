#!/usr/bin/env node
// A lab operator's script: boot the test guest under tsx-hv (building the media if it is stale),
// run it at N times real time, and show both what the measurement says and what programs in the
// guest see. Adapt freely: every step is one call on the Machine that `boot()` returns.
//
//   npm run build:ts                     # once: compiles the library into dist/
//   node examples/lab-check.mjs 60       # speed (default 60); add a media path to skip the build
//
// Inside this repository 'tsx-hv' resolves to the package itself (package.json "exports"); in
// your own project, `npm install tsx-hv` first.
import { boot, formatSpeed, parseSpeed } from 'tsx-hv';

const speed = parseSpeed(process.argv[2] ?? '60');
const media = process.argv[3];

console.error(`booting${media ? ` ${media}` : ' (building the media first if it is stale)'} ...`);
const machine = await boot({ media, log: (line) => console.error(`  build: ${line}`) });
console.error(`guest ready after ${(machine.info.bootMs / 1000).toFixed(1)} s; it sees the hypervisor "${machine.info.hypervisor}"`);

try {
  // The hypervisor holds the guest at 1x until armed, so the kernel calibrates its clocks at 1x.
  await machine.arm();

  const base = await machine.measure({ durationMs: 3000 });
  console.log(`1x: the guest clock runs at ${base.measured.toFixed(4)}x (${base.samples} samples, R² ${base.r2.toFixed(6)})`);

  await machine.speed(speed); // also: { via: 'hotkey' } or { via: 'hypercall' }
  const hostStart = performance.now();
  const before = await machine.exec('date +%s');
  const fast = await machine.measure({ durationMs: 10_000 });
  const after = await machine.exec('date +%s');
  const hostSeconds = (performance.now() - hostStart) / 1000;
  const guestSeconds = Number(after.output) - Number(before.output);
  console.log(`${formatSpeed(speed)}: measured ${fast.measured.toFixed(4)}x, error ${fast.errorPct.toFixed(3)}%, ${fast.passed ? 'within' : 'OUTSIDE'} 2%`);
  console.log(`  \`date\` in the guest advanced ${guestSeconds} s while ${hostSeconds.toFixed(1)} s passed on the host`);

  // Does a guest `sleep` shrink too? Measured, not assumed (docs/scenarios.md, "The sleep check").
  const sleep = await machine.sleepCheck(30);
  console.log(`  sleep 30 in the guest took ${sleep.hostSeconds.toFixed(2)} s of host time (S/N would be ${sleep.scaledSeconds.toFixed(2)} s)`);

  // Press the hypervisor's hotkey (Ctrl+Alt+F12 toggles 1x <-> 10x; from any other speed it goes to 1x).
  const status = await machine.hotkey('toggle', { expect: { p: 1, q: 1 } });
  console.log(`after Ctrl+Alt+F12 the hypervisor reports ${formatSpeed(status.speed)}`);
  process.exitCode = fast.passed ? 0 : 1;
} finally {
  await machine.powerOff();
}
