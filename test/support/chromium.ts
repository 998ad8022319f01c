import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium, which the browser suites drive through playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';

/** Preloads that change a program's clock (libfaketime), for Glasshouse's own processes only. */
const CLOCK_PRELOADS = ['LD_PRELOAD', 'FAKETIME', 'FAKETIME_DONT_FAKE_MONOTONIC'];

/**
 * A headless Chromium in a fresh profile, without background traffic. It runs on the real
 * clock: the browser is the reader's, not ours, and under `npm run test:shifted-clock`
 * libfaketime in each of its processes made it many times slower (page loads past 30 s),
 * while what it shows was made by Glasshouse on the shifted clock.
 */
export function launchChromium(): Promise<Browser> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && !CLOCK_PRELOADS.includes(entry[0]),
    ),
  );
  return chromium.launch({
    executablePath: CHROMIUM,
    env,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}
