import { defineConfig } from 'vitest/config';

/**
 * `npm run test:console`: the web console in Chromium (Debian's, driven by playwright-core)
 * against a real server. Its own script, which `.ci/run` runs after `npm test`: a browser
 * suite is slow on two cores, and `npm test` stays short.
 */
export default defineConfig({
  test: {
    // The CLI the suites start is the built one: rebuild dist/ when a source is newer.
    globalSetup: ['test/support/build-dist.ts'],
    include: ['test/console/**/*.test.ts'],
    testTimeout: 90_000,
    hookTimeout: 90_000,
    // One browser and one server a file; files side by side would share two cores with both.
    fileParallelism: false,
  },
});
