import { AuthError } from './auth-errors.js';
import type { Principal } from './roles.js';

/**
 * Site scope: the one place that decides which sites' records a token may see or change.
 * Every desk asks it, never the token's `sites` directly, so one rule holds everywhere:
 *
 * - a record held at, or about an installation assigned to, a site outside the token's sites
 *   is refused with 403 `FORBIDDEN_SITE` before anything changes (`assertSiteAccess`), or
 *   left out of a list (`visibleSites`, `mayAccessSite`);
 * - a record that spans sites (a legal request naming installations at two sites) is
 *   reached only by a token of all of them (`assertSitesAccess`);
 * - a deployment-wide action (a policy version, a relocation) needs a token that reaches
 *   every configured site (`assertEverySite`).
 */

/** Whether the token may see or change what `site` holds. */
export function mayAccessSite(principal: Principal, site: string): boolean {
  return principal.sites === '*' || principal.sites.includes(site);
}

/**
 * Refuses (403 `FORBIDDEN_SITE`) a token that does not reach `site`.
 *
 * @example
 * assertSiteAccess(principal, installation.site); // before any read or write at that site
 */
export function assertSiteAccess(principal: Principal, site: string): void {
  if (!mayAccessSite(principal, site)) {
    throw new AuthError('FORBIDDEN_SITE', `this token may not access site ${site}`, {
      details: { value: site },
    });
  }
}

/** Refuses a token that does not reach every one of `sites` (a record spanning sites). */
export function assertSitesAccess(principal: Principal, sites: Iterable<string>): void {
  for (const site of sites) assertSiteAccess(principal, site);
}

/** Whether the token reaches every one of `sites`. */
export function mayAccessSites(principal: Principal, sites: Iterable<string>): boolean {
  for (const site of sites) if (!mayAccessSite(principal, site)) return false;
  return true;
}

/**
 * Refuses a token that does not reach every configured site: for actions that move or route
 * every site's data.
 *
 * @example
 * assertEverySite(principal, sites.keys()); // POST /v1/relocations
 */
export function assertEverySite(principal: Principal, allSites: Iterable<string>): void {
  const refusal = everySiteRefusal(principal, allSites);
  if (refusal !== undefined) throw refusal;
}

/** The error {@link assertEverySite} throws, or `undefined`: for hooks that pass errors on. */
export function everySiteRefusal(principal: Principal, allSites: Iterable<string>): AuthError | undefined {
  if (principal.sites === '*') return undefined;
  const missing = [...allSites].filter((s) => !mayAccessSite(principal, s));
  if (missing.length === 0) return undefined;
  return new AuthError(
    'FORBIDDEN_SITE',
    `this action concerns every site; this token may not access ${missing.join(', ')}`,
    { details: { value: missing.join(',') } },
  );
}

/**
 * The sites of `sites` the token may see, in their order.
 *
 * @example
 * const asked = visibleSites(principal, this.#sites); // SiteClient[] of the token's sites
 */
export function visibleSites<T extends { readonly name: string }>(
  principal: Principal,
  sites: ReadonlyMap<string, T>,
): T[] {
  return [...sites.values()].filter((s) => mayAccessSite(principal, s.name));
}

/** The sites' subset the token may see, as a map (for code that takes the map of sites). */
export function visibleSiteMap<T extends { readonly name: string }>(
  principal: Principal,
  sites: ReadonlyMap<string, T>,
): ReadonlyMap<string, T> {
  return new Map(visibleSites(principal, sites).map((s) => [s.name, s]));
}
