import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Suites that run Glasshouse end to end on PostgreSQL, S3 (s3rver) and ClickHouse: their own
 * script, `npm run test:engines` (vitest.engines.config.ts), which `.ci/run` runs after
 * `npm test`. The ports' contract suites, which run every backend side by side, stay in
 * `npm test`. The console's browser suites (`test/console/`) are `npm run test:console`.
 */
export const ENGINE_SUITES = [
  'test/s3-storage.test.ts',
  'test/site-client-contract-postgres.test.ts',
  'test/split-deployment-engines.test.ts',
  'test/stats-clickhouse-crash.test.ts',
  'test/storage-migrate.test.ts',
  'test/vault-s3.test.ts',
];

export default defineConfig({
  test: {
    // The CLI the suites start is the built one: rebuild dist/ when a source is newer.
    globalSetup: ['test/support/build-dist.ts'],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...ENGINE_SUITES, 'test/console/**'],
    // One file per core, not vitest's cores − 1: most suites spend their time waiting on the
    // servers and CLI processes they start, so a second file overlaps that wait.
    maxWorkers: availableParallelism(),
    // Budgets against a hang, not a speed check: two busy cores make a server-starting suite
    // two or three times slower than on an idle machine.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
