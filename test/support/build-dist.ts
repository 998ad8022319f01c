import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.js';

/**
 * Vitest's global setup: the suites run the CLI as it is installed, `bin/glasshouse.js` over
 * dist/ (which `npm install` builds). Rebuilds dist/ first when a source is newer, so a test
 * never runs yesterday's build; an up-to-date build costs one directory walk.
 */
export default function setup(): void {
  const entry = join(REPO_ROOT, 'dist/cli/index.js');
  if (existsSync(entry) && statSync(entry).mtimeMs >= newestSource(join(REPO_ROOT, 'src'))) return;
  const build = spawnSync(join(REPO_ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (build.status !== 0) throw new Error(`building dist/ failed:\n${build.stdout}${build.stderr}`);
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}
