#!/usr/bin/env node
// The installed entry point runs the compiled CLI (built by `npm install` through `prepare`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/index.js', import.meta.url);
if (!existsSync(entry)) {
  console.error(
    'glasshouse: dist/ is missing; run `npm install` (or `npm run build`) in the repository first',
  );
  process.exit(1);
}
await import(entry.href);
