#!/usr/bin/env node
// The installed entry point runs the compiled CLI (built by `npm install` through `prepare`).
// CommonJS (bin/package.json), so this runs before Node's module loader reads a file through
// libuv's thread pool: the pool's size, read once when it starts, can still be set here.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

// File syncs, reads and the rest of the file system wait on this pool: with libuv's default
// of 4 threads, a group commit's fsyncs queue four at a time. An operator's setting stands.
process.env.UV_THREADPOOL_SIZE ??= '32';

const entry = join(__dirname, '..', 'dist', 'cli', 'index.js');
if (!existsSync(entry)) {
  console.error(
    'glasshouse: dist/ is missing; run `npm install` (or `npm run build`) in the repository first',
  );
  process.exit(1);
}
import(pathToFileURL(entry).href).catch((error) => {
  console.error(error);
  process.exit(1);
});
