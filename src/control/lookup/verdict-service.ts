import type { Actor, AuditSink } from '../../ports/audit-sink.js';
import type { SiteClient } from '../../ports/site-client.js';
import type { DomainEvents } from '../../shared/domain-events.js';
import { askAvailableSites, SiteUnavailableError } from '../../shared/site-errors.js';
import { textFault } from '../../shared/text.js';
import { actorOf, type Principal } from '../auth/roles.js';
import { visibleSites } from '../auth/site-scope.js';
import { LookupError } from './lookup-errors.js';
import {
  formatSeenTime,
  type IndexedVerdict,
  parseSeenTime,
  parseVerdictHash,
  VERDICT_HASH_KINDS,
  type VerdictInput,
  type VerdictName,
} from './verdict.js';
import { type BadLine, type FeedFormat, readFeed } from './verdict-import.js';
import { type LookupAnswer, type LookupItemError, VerdictIndex } from './verdict-index.js';
import type { IndexSink, ThreatVerdict, VerdictStore } from './verdict-store.js';

export interface VerdictServiceOptions {
  readonly store: VerdictStore;
  readonly audit: AuditSink;
  /** To find a sample's other hashes (a verdict on one is a verdict on all). */
  readonly sites: ReadonlyMap<string, SiteClient>;
  readonly now: () => Date;
  /** Told when an import is loaded (`verdicts.imported`). */
  readonly events?: DomainEvents;
}

export interface VerdictRequest {
  readonly verdict: VerdictName;
  readonly threat?: string | undefined;
  readonly firstSeen?: string | undefined;
  readonly lastSeen?: string | undefined;
  readonly source?: string | undefined;
}

export interface VerdictSet {
  readonly hash: string;
  readonly verdict: VerdictName;
  readonly threat: string | null;
  readonly firstSeen: string;
  /** Every hash now indexed to this verdict: the one given, and a known sample's others. */
  readonly hashes: readonly string[];
}

export interface ImportRequest {
  readonly format: FeedFormat;
  /** Load the good lines of a feed that has bad ones (default: load nothing). */
  readonly skipBad: boolean;
  /** For lines without a source. */
  readonly source?: string | undefined;
}

export interface ImportResult {
  readonly records: number;
  readonly loaded: number;
  readonly bad: number;
  readonly badLines: readonly BadLine[];
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * Hash reputation: verdicts in the store, answered from the in-memory {@link VerdictIndex},
 * which is loaded at start and updated by every write before the write is answered. Another
 * process's writes (the CLI on the data directory) bump the store's generation, and
 * {@link refresh} reloads the index in the background when it sees that.
 */
export class VerdictService {
  readonly #o: VerdictServiceOptions;
  #index = new VerdictIndex();
  /** False until {@link load}: a one-shot command writes without building an index it would drop. */
  #loaded = false;
  #generation = -1;
  /** Index rebuilds and writes take turns; look-ups never wait. */
  #turn: Promise<unknown> = Promise.resolve();
  #watch: NodeJS.Timeout | undefined;

  constructor(options: VerdictServiceOptions) {
    this.#o = options;
  }

  /** Loads the index from the store (at start; again whenever another process wrote). */
  async load(): Promise<void> {
    await this.#exclusive(() => this.#load());
  }

  /** Reloads when another process changed the store since the index was built. */
  async refresh(): Promise<boolean> {
    return this.#exclusive(async () => {
      if (!this.#loaded || (await this.#o.store.generation()) === this.#generation) return false;
      await this.#load();
      return true;
    });
  }

  /** Polls the store for other processes' writes (the serving process does). */
  watch(intervalMs: number): void {
    this.#watch = setInterval(() => {
      this.refresh().catch(() => undefined);
    }, intervalMs);
    this.#watch.unref();
  }

  get index(): VerdictIndex {
    return this.#index;
  }

  /**
   * @example
   * service.lookup('44d88612fea8a8f36de82e1278abb02f'); // { hash, verdict: 'malicious', threat: 'EICAR-Test-File', firstSeen }
   */
  lookup(hash: string): LookupAnswer {
    const answer = this.#index.lookup(hash);
    if ('error' in answer) parseVerdictHash(hash);
    return answer as LookupAnswer;
  }

  /** {@link lookup} as JSON text, for the single look-up route; throws for a malformed hash. */
  lookupJson(hash: string): string {
    const answer = this.#index.lookupJson(hash);
    if (answer === undefined) {
      parseVerdictHash(hash);
      throw new Error('unreachable: the index refused a hash the parser accepts');
    }
    return answer;
  }

  lookupMany(hashes: readonly string[]): (LookupAnswer | LookupItemError)[] {
    const index = this.#index;
    return hashes.map((hash) => index.lookup(hash));
  }

  /**
   * Sets the verdict of a hash; when a site the analyst's token reaches holds a sample with
   * that hash, its MD5, SHA-1 and SHA-256 all get the verdict (site scope: a sample only
   * another site holds is neither extended nor revealed). One log entry.
   *
   * @example
   * await service.set(sha256, { verdict: 'malicious', threat: 'Trojan.Win32.Agent' }, principal);
   */
  async set(hashText: string, request: VerdictRequest, principal: Principal): Promise<VerdictSet> {
    const actor: Actor = actorOf(principal);
    const { kind, digest } = parseVerdictHash(hashText);
    const now = this.#o.now();
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const firstSeen = seen(request.firstSeen, 'firstSeen', nowSeconds);
    const lastSeen = seen(request.lastSeen, 'lastSeen', Math.max(firstSeen, nowSeconds));
    if (lastSeen < firstSeen) throw invalid('lastSeen', 'lastSeen is before firstSeen');
    const base = {
      verdict: request.verdict,
      threat: checkedName((request.threat ?? '').trim(), 'threat'),
      firstSeen,
      lastSeen,
      source: checkedName(request.source ?? `${actor.role}:${actor.token}`, 'source'),
    };
    const rows: VerdictInput[] = [{ ...base, kind, digest }];
    for (const sibling of await this.#siblings(kind, digest.toString('hex'), principal))
      rows.push({ ...base, ...sibling });
    const hashes = rows.map((r) => r.digest.toString('hex'));
    let stored: readonly IndexedVerdict[] = [];
    await this.#exclusive(async () => {
      // On the record first (as every desk does): a change is never off the log, and an entry
      // the log refuses leaves the verdict as it was.
      await this.#o.audit.append({
        type: 'verdict.set',
        time: now.toISOString(),
        actor,
        hash: hashes[0],
        verdict: base.verdict,
        threat: base.threat,
        hashes,
      });
      const written = await this.#o.store.put(rows, nowSeconds, this.#sink());
      stored = written.stored;
      this.#advance(written.generation);
    });
    return {
      hash: hashes[0]!,
      verdict: base.verdict,
      threat: base.threat === '' ? null : base.threat,
      firstSeen: formatSeenTime(stored[0]?.firstSeen ?? firstSeen),
      hashes,
    };
  }

  /**
   * Loads a feed, streamed: all of it or, if any line is bad, none of it (unless `skipBad`,
   * which loads the good lines). Bad lines are reported by number. One log entry.
   */
  async import(
    body: AsyncIterable<Buffer | string>,
    request: ImportRequest,
    actor: Actor,
  ): Promise<ImportResult> {
    const now = this.#o.now();
    const session = await this.#o.store.beginImport();
    let report: Awaited<ReturnType<typeof readFeed>>;
    try {
      report = await readFeed(body, {
        format: request.format,
        now: Math.floor(now.getTime() / 1000),
        source: request.source ?? `import:${actor.token}`,
        rows: (batch) => session.stage(batch),
        keepGoodAfterBad: request.skipBad,
      });
    } catch (error) {
      await session.discard();
      throw error;
    }
    if (report.bad > 0 && !request.skipBad) {
      await session.discard();
      throw new LookupError(
        'INVALID_FEED',
        `${report.bad} bad line(s) (first: line ${report.badLines[0]?.line}: ${report.badLines[0]?.message}); nothing was loaded`,
        { details: { invalidLines: report.bad, errors: report.badLines } },
      );
    }
    const result: ImportResult = {
      records: report.records,
      loaded: report.good,
      bad: report.bad,
      badLines: report.badLines,
      bytes: report.bytes,
      sha256: report.sha256,
    };
    if (report.good === 0) {
      await session.discard();
      return result;
    }
    await this.#exclusive(async () => {
      // On the record before the merge, as for a single verdict.
      try {
        await this.#o.audit.append({
          type: 'verdicts.imported',
          time: now.toISOString(),
          actor,
          format: request.format,
          sha256: report.sha256,
          bytes: report.bytes,
          records: report.records,
          loaded: report.good,
          skippedBadLines: report.bad,
        });
      } catch (error) {
        await session.discard();
        throw error;
      }
      const { generation } = await session.commit(this.#sink());
      this.#advance(generation);
    });
    this.#o.events?.('verdicts.imported', {
      format: request.format,
      sha256: report.sha256,
      bytes: report.bytes,
      records: report.records,
      loaded: report.good,
      skippedBadLines: report.bad,
    });
    return result;
  }

  /**
   * The verdicts on record for the named threats, at most `limit` (for the legal desk).
   *
   * @example
   * await service.verdictsOfThreats(['Trojan.Win32.Agent'], 10_000);
   */
  verdictsOfThreats(threats: readonly string[], limit: number): Promise<readonly ThreatVerdict[]> {
    return this.#o.store.verdictsOfThreats(threats, limit);
  }

  close(): void {
    if (this.#watch !== undefined) clearInterval(this.#watch);
  }

  async #load(): Promise<void> {
    const generation = await this.#o.store.generation();
    const index = new VerdictIndex(await this.#o.store.counts());
    index.addThreats(await this.#o.store.threats(0));
    for (const kind of VERDICT_HASH_KINDS) await this.#o.store.scan(kind, (rows) => index.appendSorted(rows));
    this.#index = index;
    this.#generation = generation;
    this.#loaded = true;
  }

  #sink(): IndexSink {
    return this.#loaded ? this.#index : NO_INDEX;
  }

  /** Our own write moved the generation by one; anything more means another process wrote too. */
  #advance(generation: number): void {
    if (generation === this.#generation + 1) this.#generation = generation;
  }

  /**
   * The other hashes of a sample some site of the token holds (`[]` when none does). A site
   * away matters only when no other holds the sample: the verdict would miss its other
   * hashes, so it is SITE_UNAVAILABLE rather than a verdict under one hash only.
   */
  async #siblings(
    kind: string,
    hex: string,
    principal: Principal,
  ): Promise<{ kind: 'md5' | 'sha1' | 'sha256'; digest: Buffer }[]> {
    const { answers, away } = await askAvailableSites(visibleSites(principal, this.#o.sites), (site) =>
      site.findSample({ kind: kind as 'md5' | 'sha1' | 'sha256', value: hex }),
    );
    const sample = answers.map((a) => a.value).find((a) => a !== undefined);
    if (sample === undefined && away.length > 0) throw new SiteUnavailableError(away);
    if (sample === undefined) return [];
    return (['md5', 'sha1', 'sha256'] as const)
      .filter((k) => k !== kind)
      .map((k) => ({ kind: k, digest: Buffer.from(sample[k], 'hex') }));
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#turn.then(work, work);
    this.#turn = result.catch(() => undefined);
    return result;
  }
}

function seen(text: string | undefined, field: string, fallback: number): number {
  if (text === undefined) return fallback;
  const seconds = parseSeenTime(text);
  if (seconds === undefined)
    throw invalid(field, `${field} must be a date (YYYY-MM-DD) or a date-time with a zone`);
  return seconds;
}

/** Threat names and sources are Unicode text without NUL or control characters (line breaks aside). */
function checkedName(text: string, field: string): string {
  const fault = textFault(text);
  if (fault !== undefined) throw invalid(field, `${field} ${fault}`);
  return text;
}

function invalid(field: string, message: string): LookupError {
  return new LookupError('INVALID_VERDICT', message, { details: { field } });
}

const NO_INDEX: IndexSink = {
  threatHigh: Number.MAX_SAFE_INTEGER,
  addThreats: () => undefined,
  reserve: () => undefined,
  apply: () => undefined,
};
