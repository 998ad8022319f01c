import { defineConfig } from 'vitest/config';
import { ENGINE_SUITES } from './vitest.config.js';

/** `npm run test:engines`: the end-to-end suites on PostgreSQL, S3 and ClickHouse. */
export default defineConfig({
  test: {
    // The CLI the suites start is the built one: rebuild dist/ when a source is newer.
    globalSetup: ['test/support/build-dist.ts'],
    include: ENGINE_SUITES,
    // Budgets against a hang, not a speed check: two busy cores make a server-starting suite
    // two or three times slower than on an idle machine.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
