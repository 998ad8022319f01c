/**
 * How a background job waits for a site that is away: the first pause, doubled after each
 * failed look until the longest. A seam for tests (short pauses) and for `sleep`.
 */
export interface SiteWaitSettings {
  readonly firstMs: number;
  readonly maxMs: number;
  /** Resolves after `ms`, or as soon as `signal` aborts; never rejects. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** 1 s, then 2, 4, … up to 30 s between looks at a site that is away. */
export const SITE_WAIT: SiteWaitSettings = { firstMs: 1_000, maxMs: 30_000 };

/** The pause after `previous` (undefined: the first). */
export function nextPause(settings: SiteWaitSettings, previous: number | undefined): number {
  return previous === undefined ? settings.firstMs : Math.min(previous * 2, settings.maxMs);
}

/** A timer that an abort ends early; unref'd, so it never keeps a process alive. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
  });
}

export function sleepOf(settings: SiteWaitSettings): (ms: number, signal: AbortSignal) => Promise<void> {
  return settings.sleep ?? sleep;
}
