#!/usr/bin/env node
// npm run bench:vtime - measures the RDTSC path of the vtime core as the hypervisor compiles it.
//
// 1. Compiles hv-core/src/vtime/*.c with hv-core's freestanding flags (-O2 -ffreestanding
//    -mno-red-zone -mgeneral-regs-only -fno-stack-protector) and links the driver
//    bench/vtime/vtime_bench.c.
// 2. Checks with objdump that the read path object (vtime_read.o) has no div/idiv.
// 3. Counts instructions per vtime_read with valgrind callgrind (--toggle-collect=vtime_read:
//    only instructions executed inside vtime_read and what it calls; deterministic).
// 4. Times reads with CLOCK_MONOTONIC (best of 5 runs: the machine is shared and noisy).
// The last line printed is JSON: { instructionsPerRead, nsPerRead, ... }.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'build', 'bench-vtime');
const HV_FLAGS = ['-std=gnu11', '-O2', '-ffreestanding', '-mno-red-zone', '-mgeneral-regs-only', '-fno-stack-protector'];
const TARGET = 40;
const READS = 1_000_000;

function run(program, args) {
  const r = spawnSync(program, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) {
    console.error(`bench:vtime: ${program} could not start (${r.error.code}); install it (Debian: apt-get install gcc binutils valgrind)`);
    process.exit(1);
  }
  if (r.status !== 0) {
    console.error(`bench:vtime: ${program} ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr}`);
    process.exit(1);
  }
  return r.stdout;
}

mkdirSync(out, { recursive: true });
const vtimeDir = join(root, 'hv-core', 'src', 'vtime');
const objects = readdirSync(vtimeDir)
  .filter((f) => f.endsWith('.c'))
  .map((f) => {
    const obj = join(out, f.replace(/\.c$/, '.o'));
    run('gcc', [...HV_FLAGS, '-g', '-I', join(root, 'hv-core', 'include'), '-c', join(vtimeDir, f), '-o', obj]);
    return obj;
  });
const bench = join(out, 'vtime_bench');
run('gcc', ['-O2', '-g', '-I', join(root, 'hv-core', 'include'), join(root, 'bench', 'vtime', 'vtime_bench.c'), ...objects, '-o', bench]);

// No division on the read path: every function in vtime_read.o (vtime_read, the walk-back).
const readObject = join(out, 'vtime_read.o');
const disasm = run('objdump', ['-d', '--no-show-raw-insn', readObject]);
const divisions = disasm.split('\n').filter((l) => /\t\s*i?div[bwlq]?\s/.test(l));
const fn = disasm.split(/\n(?=[0-9a-f]+ <)/).find((s) => /^[0-9a-f]+ <vtime_read>:/.test(s)) ?? '';
const staticLength = fn.split('\n').filter((l) => /^\s+[0-9a-f]+:\t/.test(l)).length;

function instructionsPerRead(mode) {
  const file = join(out, `callgrind.${mode}.out`);
  run('valgrind', ['--tool=callgrind', '--toggle-collect=vtime_read', `--callgrind-out-file=${file}`, bench, mode, String(READS)]);
  const summary = readFileSync(file, 'utf8').match(/^(?:summary|totals):\s+(\d+)/m);
  if (!summary) {
    console.error(`bench:vtime: no instruction total in ${file}`);
    process.exit(1);
  }
  return Number(summary[1]) / READS;
}

const fast = instructionsPerRead('fast');
const slow = instructionsPerRead('slow');
let ns = Infinity;
for (let i = 0; i < 5; i++) {
  const m = run(bench, ['time', '20000000']).match(/ns_per_read ([\d.]+)/);
  if (m) ns = Math.min(ns, Number(m[1]));
}
const gcc = run('gcc', ['-dumpfullversion']).trim();

console.log(`vtime_read fast path : ${fast.toFixed(2)} instructions/read (callgrind, ${READS} reads; target <= ${TARGET})`);
console.log(`vtime_read walk-back : ${slow.toFixed(2)} instructions/read (read just before the newest epoch)`);
console.log(`vtime_read time      : ${ns.toFixed(2)} ns/read (best of 5 x 20M reads on this host)`);
console.log(`vtime_read code size : ${staticLength} instructions in the function body`);
console.log(`division on read path: ${divisions.length === 0 ? 'none' : divisions.join('; ')}`);
console.log(JSON.stringify({
  instructionsPerRead: Number(fast.toFixed(3)),
  instructionsPerReadWalkBack: Number(slow.toFixed(3)),
  nsPerRead: Number(ns.toFixed(3)),
  targetInstructionsPerRead: TARGET,
  meetsTarget: fast <= TARGET,
  divisionInstructionsOnReadPath: divisions.length,
  compiler: `gcc ${gcc}`,
  flags: HV_FLAGS.join(' '),
}));
if (divisions.length > 0) process.exit(1);
