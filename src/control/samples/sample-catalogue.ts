import { randomUUID } from 'node:crypto';
import type { SampleComment, SampleHit, SimilarSample } from '../../ports/catalogue.js';
import type { SampleAtSite } from '../../ports/samples.js';
import type { SiteClient } from '../../ports/site-client.js';
import { decodeCursor, encodeCursor } from '../../shared/cursor.js';
import { parseSampleHash } from '../../shared/sample-hash.js';
import { parseCommentText, parseTag } from '../../shared/sample-tag.js';
import { askAvailableSites, SiteUnavailableError } from '../../shared/site-errors.js';
import { VaultError } from '../../shared/vault-errors.js';
import { actorOf, type Principal } from '../auth/roles.js';
import { assertSiteAccess, visibleSites } from '../auth/site-scope.js';
import { mergeSiteStreams, type SiteStream } from './site-merge.js';

/** What the control plane's verdict index knows of a SHA-256 (`null`s when nothing). */
export interface KnownVerdict {
  readonly verdict: string | null;
  readonly threat: string | null;
}

export interface SampleCatalogueOptions {
  readonly sites: ReadonlyMap<string, SiteClient>;
  readonly verdictOf: (sha256: string) => KnownVerdict;
  readonly now: () => Date;
}

export interface SearchFilters {
  readonly type?: string | undefined;
  readonly minSize?: number | undefined;
  readonly maxSize?: number | undefined;
  readonly firstSeenFrom?: Date | undefined;
  readonly firstSeenTo?: Date | undefined;
  readonly verdict?: string | undefined;
  readonly threat?: string | undefined;
  readonly tag?: string | undefined;
  readonly site?: string | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

export interface FoundSample extends SampleHit, KnownVerdict {}

export interface SearchPage {
  readonly samples: readonly FoundSample[];
  readonly next: string | null;
  /** Every match, when it costs one count at one site (see docs/catalogue.md); else null. */
  readonly total: number | null;
  readonly unavailableSites: readonly string[];
}

/** The samples nearest one, across the token's sites (see {@link SampleCatalogue.similar}). */
export interface SimilarPage {
  /** The queried sample, and the fuzzy hashes the query used (`null`: none recorded). */
  readonly sha256: string;
  readonly tlsh: string | null;
  readonly ssdeep: string | null;
  readonly samples: readonly SimilarSample[];
  readonly unavailableSites: readonly string[];
}

/**
 * Items a search examines per request when a verdict or threat filter (applied here, after
 * the sites) rejects many: past it the page is answered short, with a cursor to go on.
 */
const SEARCH_SCAN_BUDGET = 5000;

/**
 * The control plane's side of the sample catalogue: tags and comments kept at each site that
 * holds a sample, and the search over the token's sites, merged here.
 */
export class SampleCatalogue {
  readonly #o: SampleCatalogueOptions;

  constructor(options: SampleCatalogueOptions) {
    this.#o = options;
  }

  /**
   * Tags the sample at every site of the token's that holds it.
   *
   * @example
   * await catalogue.tag(principal, sha256, 'family:emotet'); // { sha256, tag, sites: ['zurich'] }
   */
  async tag(principal: Principal, hashText: string, tagText: string) {
    const tag = parseTag(tagText);
    const holding = await this.#holding(principal, hashText);
    const actor = actorOf(principal);
    const changes = await Promise.all(holding.map((h) => h.site.tagSample(h.sample.sha256, tag, actor)));
    return this.#changeAnswer(holding, tag, changes);
  }

  /** Removes the tag at every site of the token's that holds the sample. */
  async untag(principal: Principal, hashText: string, tagText: string) {
    const tag = parseTag(tagText);
    const holding = await this.#holding(principal, hashText);
    const actor = actorOf(principal);
    const changes = await Promise.all(holding.map((h) => h.site.untagSample(h.sample.sha256, tag, actor)));
    return this.#changeAnswer(holding, tag, changes);
  }

  /** A comment, kept (the same id and time) at every site of the token's that holds the sample. */
  async comment(principal: Principal, hashText: string, text: string): Promise<SampleComment> {
    const checked = parseCommentText(text);
    const holding = await this.#holding(principal, hashText);
    const actor = actorOf(principal);
    const comment: SampleComment = {
      id: randomUUID(),
      sha256: holding[0]!.sample.sha256,
      text: checked,
      createdAt: this.#o.now().toISOString(),
      author: { role: principal.role, token: principal.tokenId },
    };
    await Promise.all(holding.map((h) => h.site.commentOnSample(comment, actor)));
    return comment;
  }

  /** The sample's comments at the token's sites, oldest first, each once. */
  async comments(
    principal: Principal,
    hashText: string,
    page: { limit: number; cursor?: string | undefined },
  ): Promise<{ comments: SampleComment[]; next: string | null }> {
    const holding = await this.#holding(principal, hashText);
    const [createdAt, id] = page.cursor === undefined ? [] : decodeCursor(page.cursor, 2);
    const start = createdAt === undefined || id === undefined ? undefined : { createdAt, id };
    const streams = holding.map(
      (h): SiteStream<SampleComment> => ({
        site: h.site.name,
        buffer: [],
        exhausted: false,
        last: undefined,
        more: async (last) => {
          const after = last === undefined ? start : { createdAt: last.createdAt, id: last.id };
          const items = await h.site.listSampleComments(h.sample.sha256, {
            limit: page.limit + 1,
            ...(after === undefined ? {} : { after }),
          });
          return { items, exhausted: items.length < page.limit + 1 };
        },
      }),
    );
    const out: SampleComment[] = [];
    await mergeSiteStreams(streams, compareComments, (c) => {
      // Copies at several sites are the same comment: same key, met one after another.
      if (out.at(-1)?.id !== c.id) out.push(c);
      return out.length <= page.limit;
    });
    const comments = out.slice(0, page.limit);
    const last = comments.at(-1);
    return {
      comments,
      next: out.length > page.limit && last !== undefined ? encodeCursor([last.createdAt, last.id]) : null,
    };
  }

  /** The sample's tags (at any of the given sites) and its comment count, for its description. */
  async notesOf(sha256: string, sites: readonly string[]): Promise<{ tags: string[]; comments: number }> {
    const notes = await Promise.all(
      sites.map((site) => this.#o.sites.get(site)?.sampleNotes(sha256) ?? { tags: [], comments: 0 }),
    );
    return {
      tags: [...new Set(notes.flatMap((n) => n.tags))].sort(),
      // Every site holding the sample when it was commented on keeps the comment: the largest count.
      comments: Math.max(0, ...notes.map((n) => n.comments)),
    };
  }

  /**
   * Samples at the token's sites (or the one named), newest first by (first seen, SHA-256,
   * site): the sites filter and page, this merges their pages and filters by verdict.
   */
  async search(principal: Principal, filters: SearchFilters): Promise<SearchPage> {
    if (filters.tag !== undefined) parseTag(filters.tag);
    if (filters.site !== undefined) assertSiteAccess(principal, filters.site);
    const sites = visibleSites(principal, this.#o.sites).filter(
      (s) => filters.site === undefined || s.name === filters.site,
    );
    const cursor = filters.cursor === undefined ? undefined : decodeCursor(filters.cursor, 3);
    const byVerdict = filters.verdict !== undefined || filters.threat !== undefined;
    // Without a verdict filter every item a site answers is kept: a page and one more suffice.
    const batch = byVerdict ? Math.min(1000, Math.max(100, filters.limit * 4)) : filters.limit + 1;
    const counted = sites.length === 1 && !byVerdict;
    const query = siteQuery(filters);
    const first = await askAvailableSites(sites, (site) =>
      site.searchSamples({
        ...query,
        limit: batch,
        ...(cursor === undefined ? {} : { before: beforeAt(cursor, site.name) }),
        ...(counted ? { count: true } : {}),
      }),
    );
    if (sites.length > 0 && first.answers.length === 0) throw new SiteUnavailableError(first.away);
    const streams = first.answers.map(
      ({ site, value }): SiteStream<SampleHit> => ({
        site: site.name,
        buffer: [...value.hits],
        exhausted: value.hits.length < batch,
        last: value.hits.at(-1),
        more: async (last) => {
          const page = await site.searchSamples({
            ...query,
            limit: batch,
            ...(last === undefined
              ? {}
              : { before: { firstSeen: last.firstSeen, sha256: last.sha256, inclusive: false } }),
          });
          return { items: page.hits, exhausted: page.hits.length < batch };
        },
      }),
    );
    const out: FoundSample[] = [];
    let examined: SampleHit | undefined;
    let scanned = 0;
    const spent = await mergeSiteStreams(streams, compareHits, (hit) => {
      examined = hit;
      scanned += 1;
      const known = this.#o.verdictOf(hit.sha256);
      if (matchesVerdict(known, filters)) out.push({ ...hit, verdict: known.verdict, threat: known.threat });
      return out.length <= filters.limit && scanned < SEARCH_SCAN_BUDGET;
    });
    const samples = out.slice(0, filters.limit);
    const next =
      out.length > filters.limit
        ? keyOf(samples.at(-1)!)
        : !spent && examined !== undefined
          ? keyOf(examined)
          : null;
    const total = counted ? (first.answers[0]?.value.total ?? null) : null;
    return { samples, next, total, unavailableSites: first.away };
  }

  /**
   * The samples nearest the given one by TLSH distance, at the token's sites, nearest first
   * (then SHA-256, then site; one item per sample and site holding it), each with its ssdeep
   * score against the sample's. A sample without a TLSH digest has no neighbours.
   *
   * @example
   * await catalogue.similar(principal, sha256, { maxDistance: 100, limit: 20 }); // { samples: [{ sha256, distance, … }], … }
   */
  async similar(
    principal: Principal,
    hashText: string,
    options: { readonly maxDistance: number; readonly limit: number },
  ): Promise<SimilarPage> {
    const holding = await this.#holding(principal, hashText);
    const sha256 = holding[0]!.sample.sha256;
    const tlsh = holding.find((h) => h.sample.tlsh !== null)?.sample.tlsh ?? null;
    const ssdeep = holding.find((h) => h.sample.ssdeep !== null)?.sample.ssdeep ?? null;
    if (tlsh === null) return { sha256, tlsh, ssdeep, samples: [], unavailableSites: [] };
    const sites = visibleSites(principal, this.#o.sites);
    const { answers, away } = await askAvailableSites(sites, (site) =>
      site.similarSamples({
        tlsh,
        ...(ssdeep === null ? {} : { ssdeep }),
        exclude: sha256,
        maxDistance: options.maxDistance,
        limit: options.limit,
      }),
    );
    if (answers.length === 0) throw new SiteUnavailableError(away);
    const samples = answers
      .flatMap((a) => a.value)
      .sort(
        (a, b) => a.distance - b.distance || compareText(a.sha256, b.sha256) || compareText(a.site, b.site),
      )
      .slice(0, options.limit);
    return { sha256, tlsh, ssdeep, samples, unavailableSites: away };
  }

  /** The token's sites that hold the sample (the first answering for its SHA-256). */
  async #holding(
    principal: Principal,
    hashText: string,
  ): Promise<{ site: SiteClient; sample: SampleAtSite }[]> {
    const hash = parseSampleHash(hashText);
    const { answers, away } = await askAvailableSites(visibleSites(principal, this.#o.sites), (s) =>
      s.findSample(hash),
    );
    const holding = answers.flatMap((a) =>
      a.value === undefined ? [] : [{ site: a.site, sample: a.value }],
    );
    if (holding.length > 0) return holding;
    throw away.length > 0
      ? new SiteUnavailableError(away)
      : new VaultError('SAMPLE_NOT_FOUND', 'no sample with that hash at your sites');
  }

  #changeAnswer(
    holding: readonly { site: SiteClient; sample: SampleAtSite }[],
    tag: string,
    changes: readonly { changed: boolean }[],
  ) {
    return {
      sha256: holding[0]!.sample.sha256,
      tag,
      sites: holding.map((h) => h.site.name),
      changed: changes.some((c) => c.changed),
    };
  }
}

function siteQuery(filters: SearchFilters) {
  return {
    ...(filters.type === undefined ? {} : { type: filters.type }),
    ...(filters.minSize === undefined ? {} : { minSize: filters.minSize }),
    ...(filters.maxSize === undefined ? {} : { maxSize: filters.maxSize }),
    ...(filters.firstSeenFrom === undefined ? {} : { firstSeenFrom: filters.firstSeenFrom.toISOString() }),
    ...(filters.firstSeenTo === undefined ? {} : { firstSeenTo: filters.firstSeenTo.toISOString() }),
    ...(filters.tag === undefined ? {} : { tag: filters.tag }),
  };
}

/**
 * Where a site resumes after the cursor's (firstSeen, sha256, site): the same sample key at a
 * site sorting after the cursor's site (sites descend too) is still to come.
 */
function beforeAt(cursor: readonly string[], site: string) {
  const [firstSeen = '', sha256 = '', cursorSite = ''] = cursor;
  return { firstSeen, sha256, inclusive: site < cursorSite };
}

function keyOf(hit: SampleHit): string {
  return encodeCursor([hit.firstSeen, hit.sha256, hit.site]);
}

/** Newest first: (firstSeen, sha256, site) descending. */
function compareHits(a: SampleHit, b: SampleHit): number {
  return (
    compareText(b.firstSeen, a.firstSeen) || compareText(b.sha256, a.sha256) || compareText(b.site, a.site)
  );
}

function compareComments(a: SampleComment, b: SampleComment): number {
  return compareText(a.createdAt, b.createdAt) || compareText(a.id, b.id);
}

/** Code-unit order, as the sites' SQL sorts text. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function matchesVerdict(known: KnownVerdict, filters: SearchFilters): boolean {
  if (filters.verdict !== undefined && known.verdict !== filters.verdict) return false;
  if (filters.threat !== undefined && known.threat?.toLowerCase() !== filters.threat.toLowerCase())
    return false;
  return true;
}
