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
  /** The first site named (the only one, when a client raises it). */
  readonly site: string;
  readonly sites: readonly string[];

  constructor(site: string | readonly string[], options: { cause?: unknown } = {}) {
    const sites = typeof site === 'string' ? [site] : [...site];
    super(
      'SITE_UNAVAILABLE',
      sites.length === 1 ? `site ${sites[0]} is unavailable` : `sites ${sites.join(', ')} are unavailable`,
      {
        ...(options.cause === undefined ? {} : { cause: options.cause }),
        details: { sites },
      },
    );
    this.site = sites[0] ?? '';
    this.sites = sites;
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

/** What a question put to several sites got: the answers of those that answered, and who was away. */
export interface SitesAnswer<S, T> {
  readonly answers: readonly { readonly site: S; readonly value: T }[];
  /** The sites that were unavailable (not asked, in effect), by name. */
  readonly away: readonly string[];
}

/**
 * Asks every site at once and keeps what the available ones answer; a site away is listed in
 * `away`, any other failure is thrown. For reads that can answer from the other sites (a
 * sample found where it is), saying which sites were not asked.
 *
 * @example
 * const { answers, away } = await askAvailableSites(sites, (s) => s.findSample(hash));
 */
export async function askAvailableSites<S extends { readonly name: string }, T>(
  sites: readonly S[],
  ask: (site: S) => Promise<T>,
): Promise<SitesAnswer<S, T>> {
  const outcomes = await Promise.allSettled(sites.map((site) => ask(site)));
  const answers: { site: S; value: T }[] = [];
  const away: string[] = [];
  outcomes.forEach((outcome, i) => {
    const site = sites[i] as S;
    if (outcome.status === 'fulfilled') answers.push({ site, value: outcome.value });
    else if (unavailableSites(outcome.reason) !== undefined) away.push(site.name);
  });
  const failure = outcomes.find(
    (o): o is PromiseRejectedResult => o.status === 'rejected' && unavailableSites(o.reason) === undefined,
  );
  if (failure !== undefined) throw failure.reason;
  return { answers, away };
}

/**
 * Asks every site at once; when any is away, fails with one `SITE_UNAVAILABLE` naming all
 * those away. For answers that would be wrong without a site (an aggregate, an audit).
 *
 * @example
 * const perSite = await askEverySite(sites, (s) => s.aggregateEvents(query));
 */
export async function askEverySite<S extends { readonly name: string }, T>(
  sites: readonly S[],
  ask: (site: S) => Promise<T>,
): Promise<T[]> {
  const { answers, away } = await askAvailableSites(sites, ask);
  if (away.length > 0) throw new SiteUnavailableError(away);
  return answers.map((a) => a.value);
}
