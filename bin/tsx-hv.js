#!/usr/bin/env node
// Thin shim: the CLI lives in dist/cli/main.js (compiled from src/cli/main.ts by `npm ci`/`npm run build:ts`).
import { main } from '../dist/cli/main.js';
process.exitCode = await main(process.argv);
