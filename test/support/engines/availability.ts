import { accessSync, constants } from 'node:fs';

/**
 * Set by `.ci/run`: a backend suite whose engine is missing fails instead of skipping, so CI
 * never passes with a backend left untested.
 */
export const enginesRequired = process.env.GLASSHOUSE_REQUIRE_ENGINES === '1';

/** The first of `candidates` that exists and is executable, or `undefined`. */
export function findExecutable(candidates: readonly string[]): string | undefined {
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not this one.
    }
  }
  return undefined;
}

/**
 * Whether the suites of `engine` can run here. When they cannot, says so loudly (once per
 * file) so a skipped backend is never mistaken for a tested one, and throws when
 * `GLASSHOUSE_REQUIRE_ENGINES=1`.
 *
 * @example
 * const postgres = findExecutable(['/usr/lib/postgresql/15/bin/postgres']);
 * describe.runIf(engineAvailable('PostgreSQL', postgres, 'apt-get install postgresql'))('…', …);
 */
export function engineAvailable(engine: string, executable: string | undefined, install: string): boolean {
  if (executable !== undefined) return true;
  const message = `${engine} is not installed here (${install}): its backend suites are SKIPPED`;
  if (enginesRequired) throw new Error(`${message}, but GLASSHOUSE_REQUIRE_ENGINES=1 requires them`);
  console.warn(`\n${'!'.repeat(message.length)}\n${message}\n${'!'.repeat(message.length)}\n`);
  return false;
}

/**
 * The environment an engine's server starts with: the tests' own, without libfaketime.
 * `npm run test:shifted-clock` moves the clock of Glasshouse's processes to find code that
 * holds only until some day; a database server is not ours to test so (and ClickHouse does
 * not come up under libfaketime), so it keeps the real clock, as a real one would.
 */
export function engineEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key === 'LD_PRELOAD' || key.startsWith('FAKETIME')) delete env[key];
  return env;
}
