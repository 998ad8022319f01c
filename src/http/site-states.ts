import type { SiteClient } from '../ports/site-client.js';

/** How long `/readyz` and `/metrics` wait for a site before they leave it out. */
export const SITE_HEALTH_TIMEOUT_MS = 2000;

export type SiteState = 'ready' | 'unavailable';

/**
 * Each site's state for `/readyz`, asked of all sites at once: `ready` when its `health()`
 * resolves within {@link SITE_HEALTH_TIMEOUT_MS}, `unavailable` otherwise.
 *
 * @example
 * await siteStates(glasshouse.siteClients) // { zurich: 'ready', moscow: 'unavailable' }
 */
export async function siteStates(
  sites: ReadonlyMap<string, SiteClient>,
  timeoutMs = SITE_HEALTH_TIMEOUT_MS,
): Promise<Record<string, SiteState>> {
  const entries = await Promise.all(
    [...sites].map(async ([name, site]) => {
      const answered = await settleWithin(
        site.health().then(() => true),
        timeoutMs,
      );
      return [name, answered === true ? 'ready' : 'unavailable'] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/**
 * What `work` resolves to, or `undefined` when it rejects or takes longer than `timeoutMs`:
 * a probe of a remote site must not wait for the client's own (longer) timeouts and retries.
 *
 * @example
 * const usage = await settleWithin(site.usage(), SITE_HEALTH_TIMEOUT_MS);
 */
export async function settleWithin<T>(work: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([work.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
