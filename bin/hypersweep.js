#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm run build` (run automatically by `npm ci` / `npm install`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/orchestrator/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('hypersweep: the CLI is not built; run `npm run build` (or `npm ci`) first');
  process.exit(2);
}
const { main } = await import(entry.href);
await main(process.argv.slice(2));
