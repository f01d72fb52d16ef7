#!/usr/bin/env node
// Thin shim: the CLI lives in dist/cli/main.js (compiled from src/cli/main.ts by `npm ci` / `npm run build:ts`).
import { main } from '../dist/cli/main.js';

// A reader that went away (`tsx-hv doctor --json | head`) ends the output, not in a crash.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

process.exitCode = await main(process.argv);
