import { GlasshouseError } from './errors.js';

export type SiteErrorCode = 'SITE_UNAVAILABLE' | 'SITE_IDENTITY_MISMATCH' | 'FORBIDDEN_PEER';

/** A failure to reach a site, as opposed to a refusal the site answered. */
export class SiteError extends GlasshouseError<SiteErrorCode> {}

/**
 * The site did not answer in time: connection refused or reset, a timeout, a TLS failure
 * other than its identity, or a 503 that outlived the retries. Only that site's requests fail.
 *
 * @example
 * throw new SiteUnavailableError('zurich', { cause });
 */
export class SiteUnavailableError extends SiteError {
  readonly site: string;

  constructor(site: string, options: { cause?: unknown } = {}) {
    super('SITE_UNAVAILABLE', `site ${site} is unavailable`, {
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      details: { sites: [site] },
    });
    this.site = site;
  }
}

/** The peer answering at a site's address holds a certificate for another peer. */
export class SiteIdentityError extends SiteError {
  constructor(expected: string, presented: string, options: { cause?: unknown } = {}) {
    super('SITE_IDENTITY_MISMATCH', `the server at site ${expected}'s address is ${presented}`, options);
  }
}

/**
 * The sites a `SITE_UNAVAILABLE` failure names (its `details.sites`), or undefined for any
 * other error. By code, not class: the control plane must not depend on the adapter that
 * threw it, and an in-process site never throws it.
 *
 * @example
 * const away = unavailableSites(error); // ['moscow']
 */
export function unavailableSites(error: unknown): readonly string[] | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, details } = error as { code?: unknown; details?: { sites?: unknown } };
  if (code !== 'SITE_UNAVAILABLE') return undefined;
  const sites = details?.sites;
  return Array.isArray(sites) ? sites.filter((s): s is string => typeof s === 'string') : [];
}
