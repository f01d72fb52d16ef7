#!/usr/bin/env node
// Builds the tsx-hv Node addon (native/ + hv-core/src/vtime) with cmake-js into
// build/native/Release/tsx_hv_native.node.
//
//   node scripts/build-addon.mjs            npm "install" hook: a missing cmake/compiler or a
//                                           failed build prints what to do and exits 0, so the
//                                           install succeeds and `tsx-hv doctor` can explain
//   node scripts/build-addon.mjs --strict   `tsx-hv build` / `npm run build:addon`: fail loudly
//
// Headers: native/package.json declares binary.napi_versions, so cmake-js runs in Node-API
// mode and takes the headers from the npm packages node-api-headers and node-addon-api. It
// never downloads Node headers (no request to nodejs.org or anywhere else).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const strict = process.argv.includes('--strict');
const out = join(root, 'build', 'native');
const addon = join(out, 'Release', 'tsx_hv_native.node');

function say(line) {
  process.stderr.write(`tsx-hv: ${line}\n`);
}

function give_up(reason) {
  say(`the native addon (VirtualClock, cpuProbe) was NOT built: ${reason}`);
  say('install cmake and a C/C++ compiler (Debian: apt-get install cmake g++), then run `tsx-hv build` or `npm run build:addon`');
  process.exit(strict ? 1 : 0);
}

function found(program, args) {
  const r = spawnSync(program, args, { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

if (!found('cmake', ['--version'])) give_up('cmake is not installed');
const compilers = [process.env.CXX, 'c++', 'g++', 'clang++'].filter((c) => c);
if (!compilers.some((c) => found(c, ['--version']))) give_up('no C++ compiler (c++, g++ or clang++) found');

let cmakeJs;
try {
  cmakeJs = join(dirname(createRequire(import.meta.url).resolve('cmake-js/package.json')), 'bin', 'cmake-js');
} catch {
  give_up('the npm package cmake-js is not installed (run npm install)');
}

say('building the native addon with cmake-js (Node-API headers from node_modules)');
const r = spawnSync(
  process.execPath,
  [cmakeJs, 'build', '--directory', join(root, 'native'), '--out', out, '--parallel', '2', '--log-level', 'warn'],
  { cwd: root, stdio: 'inherit' },
);
if (r.error !== undefined) give_up(`cmake-js could not start: ${r.error.message}`);
if (r.status !== 0) give_up(`cmake-js exited with status ${r.status ?? r.signal}`);
if (!existsSync(addon)) give_up(`cmake-js finished but ${addon} is missing`);
say(`native addon built: ${addon}`);
