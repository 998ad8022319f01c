import type { SiteClient } from '../site/site-client.js';

/** How long `/readyz` waits for a site before it lists it as unavailable. */
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
    [...sites].map(async ([name, site]) => [name, await stateOf(site, timeoutMs)] as const),
  );
  return Object.fromEntries(entries);
}

async function stateOf(site: SiteClient, timeoutMs: number): Promise<SiteState> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<SiteState>((resolve) => {
    timer = setTimeout(() => resolve('unavailable'), timeoutMs);
  });
  try {
    return await Promise.race([
      site.health().then(
        (): SiteState => 'ready',
        (): SiteState => 'unavailable',
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
