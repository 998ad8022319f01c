import type { Kysely } from 'kysely';
import { canonicalJson } from '../../ledger/note/index.js';
import type { TransparencyLog } from '../../ledger/transparency-log.js';
import type { SiteClient } from '../../ports/site-client.js';
import type { DomainEvents } from '../../shared/domain-events.js';
import { unavailableSites } from '../../shared/site-errors.js';
import { nextPause, SITE_WAIT, type SiteWaitSettings, sleepOf } from '../../shared/site-wait.js';
import type { InstallationRegistry } from '../residency/installation-registry.js';
import type { PolicyService } from '../residency/policy-service.js';
import { runErasure, type StepRunner } from './erasure-job.js';
import { collectRecords } from './export-archive.js';
import { buildInventory } from './inventory.js';
import { DESK_ACTOR, dateOf, privacyLogEntry } from './privacy-log.js';
import type { PrivacyRequestsTable, PrivacyTables } from './privacy-tables.js';

export interface PrivacyWorkerOptions {
  readonly db: Kysely<PrivacyTables>;
  readonly registry: InstallationRegistry;
  readonly policy: PolicyService;
  readonly sites: ReadonlyMap<string, SiteClient>;
  readonly audit: TransparencyLog;
  /** Compacts control.db (VACUUM and WAL checkpoint), so erased rows leave no bytes. */
  readonly compactControl: () => Promise<void>;
  readonly retentionDays: number;
  readonly now: () => Date;
  readonly onError: (error: unknown, requestId: string) => void;
  /** Called after each journalled step with how many this process did (tests stop here). */
  readonly afterStep?: (stepsDone: number) => void;
  /** How a request waits for a site that is away (1 s doubling to 30 s unless given). */
  readonly siteWait?: SiteWaitSettings;
  /** Told when an erasure is completed (`privacy.erasure_completed`). */
  readonly events?: DomainEvents;
}

/** A request whose step met a site away: retried after `pause`, the same step first. */
interface Waiting {
  readonly sites: readonly string[];
  readonly pause: number;
  /** True until the pause is over (the request is skipped meanwhile). */
  resting: boolean;
}

const RETRY_MS = 10_000;

/**
 * The durable background job of the privacy desk, in the serving process. It answers
 * `verified` and `in_progress` requests one at a time; each request is a list of idempotent
 * steps whose completion is journalled in control.db, so after a `kill -9` the next start
 * resumes at the first step not journalled.
 */
export class PrivacyWorker {
  readonly #o: PrivacyWorkerOptions;
  #running = false;
  #loop: Promise<void> | undefined;
  #again = false;
  #stepsDone = 0;
  /** Requests that failed; skipped until the retry timer clears them. */
  readonly #failed = new Set<string>();
  #retry: NodeJS.Timeout | undefined;
  /** Requests waiting for a site: not failed, the others go on meanwhile. */
  readonly #waiting = new Map<string, Waiting>();
  readonly #stopped = new AbortController();

  constructor(options: PrivacyWorkerOptions) {
    this.#o = options;
  }

  start(): void {
    this.#running = true;
    this.kick();
  }

  /** Looks for work now (after a request became ready). */
  kick(): void {
    if (!this.#running) return;
    if (this.#loop !== undefined) {
      this.#again = true;
      return;
    }
    this.#loop = this.#drain().finally(() => {
      this.#loop = undefined;
    });
  }

  /** Resolves when no work is left (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#loop !== undefined) await this.#loop;
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#retry);
    this.#stopped.abort();
    await this.idle();
  }

  async #drain(): Promise<void> {
    do {
      this.#again = false;
      for (;;) {
        if (!this.#running) return;
        const next = await this.#next();
        if (next === undefined) break;
        await this.#answer(next).then(
          () => this.#waiting.delete(next.id),
          (error: unknown) => {
            const away = unavailableSites(error);
            if (away !== undefined) return this.#waitFor(next.id, away);
            this.#waiting.delete(next.id);
            this.#failed.add(next.id);
            this.#o.onError(error, next.id);
            this.#retryLater();
          },
        );
      }
    } while (this.#again);
  }

  /** A failed request (a busy store, a site away) is tried again after a pause, not in a loop. */
  #retryLater(): void {
    if (this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#failed.clear();
      this.kick();
    }, RETRY_MS);
    this.#retry.unref();
  }

  /** The sites the job waits for to answer the request (empty when it does not wait). */
  waitingFor(requestId: string): readonly string[] {
    return this.#waiting.get(requestId)?.sites ?? [];
  }

  /**
   * A site is away: no failure, the request rests (1 s, doubling to 30 s) and is taken up
   * again at the step it stopped in (the journal skips those done); the others go on.
   */
  #waitFor(requestId: string, sites: readonly string[]): void {
    const settings = this.#o.siteWait ?? SITE_WAIT;
    const waiting: Waiting = {
      sites,
      pause: nextPause(settings, this.#waiting.get(requestId)?.pause),
      resting: true,
    };
    this.#waiting.set(requestId, waiting);
    void sleepOf(settings)(waiting.pause, this.#stopped.signal).then(() => {
      waiting.resting = false;
      this.kick();
    });
  }

  async #next(): Promise<PrivacyRequestsTable | undefined> {
    const skip = (id: string) => this.#failed.has(id) || this.#waiting.get(id)?.resting === true;
    const rows = await this.#o.db
      .selectFrom('privacy_requests')
      .selectAll()
      .where('state', 'in', ['verified', 'in_progress'])
      .orderBy('received_at')
      .limit(this.#failed.size + this.#waiting.size + 1)
      .execute();
    return rows.find((row) => !skip(row.id));
  }

  async #answer(request: PrivacyRequestsTable): Promise<void> {
    if (request.state === 'verified') {
      const taken = await this.#o.db
        .updateTable('privacy_requests')
        .set({ state: 'in_progress' })
        .where('id', '=', request.id)
        .where('state', '=', 'verified')
        .executeTakeFirst();
      // An officer rejected it since we read it.
      if (taken.numUpdatedRows === 0n) return;
    }
    if (request.installation_id === null && request.type !== 'erasure') {
      await this.#rejectErased(request);
      return;
    }
    const step = this.#stepRunner(request.id);
    let answer: unknown;
    switch (request.type) {
      case 'inventory':
        answer = await step('inventory', () => this.#inventory(request));
        break;
      case 'export':
        answer = await step('export', () => this.#exportSummary(request));
        break;
      case 'erasure':
        await runErasure(request, step, {
          ...this.#o,
          logCompletion: () => this.#logCompletion(request, step),
        });
        break;
      default:
        throw new Error(`unknown request type ${request.type}`);
    }
    const completion = await this.#logCompletion(request, step);
    const closedAt = completion.closedAt;
    await this.#o.db
      .updateTable('privacy_requests')
      .set({
        state: 'completed',
        closed_at: closedAt,
        ...(answer === undefined ? {} : { answer: JSON.stringify(answer) }),
      })
      .where('id', '=', request.id)
      .execute();
    if (request.type === 'erasure') {
      // The request id and the log entry only: the installation is what was erased.
      this.#o.events?.('privacy.erasure_completed', {
        request: request.id,
        logIndex: completion.index,
        closedAt,
      });
    }
  }

  /** An inventory or export whose installation an erasure removed first: nothing is left to answer. */
  async #rejectErased(request: PrivacyRequestsTable): Promise<void> {
    const now = this.#o.now();
    const rejected = {
      ...request,
      state: 'rejected',
      reason: 'no_match',
      note: 'the installation was erased before this request was answered',
      closed_at: now.toISOString(),
    };
    await this.#o.db
      .updateTable('privacy_requests')
      .set({
        state: rejected.state,
        reason: rejected.reason,
        note: rejected.note,
        closed_at: rejected.closed_at,
      })
      .where('id', '=', request.id)
      .execute();
    await this.#o.audit.append(privacyLogEntry(rejected, 'rejected', DESK_ACTOR, now));
  }

  /** Appends the `completed` entry once (journalled); returns its index and the closing time. */
  #logCompletion(
    request: PrivacyRequestsTable,
    step: StepRunner,
  ): Promise<{ index: number; closedAt: string; entry: string }> {
    return step('logged', async () => {
      const closedAt = this.#o.now().toISOString();
      const entry = canonicalJson(
        privacyLogEntry(
          { ...request, state: 'completed', closed_at: closedAt },
          'completed',
          DESK_ACTOR,
          this.#o.now(),
        ),
      );
      const index = await this.#o.audit.appendBytes(Buffer.from(entry, 'utf8'));
      return { index, closedAt, entry };
    });
  }

  async #inventory(request: PrivacyRequestsTable) {
    const installation = await this.#o.registry.get(request.installation_id ?? '');
    const versions = await this.#o.policy.versions();
    return buildInventory(
      installation,
      versions.find((v) => v.version === installation.policyVersion),
      await collectRecords(installation.id, this.#o.sites),
      this.#o.retentionDays,
    );
  }

  async #exportSummary(request: PrivacyRequestsTable) {
    const records = await collectRecords(request.installation_id ?? '', this.#o.sites);
    return {
      download: `/v1/privacy-requests/${request.id}/export`,
      sites: records.map((r) => ({
        site: r.site,
        submissions: r.submissions.length,
        samples: new Set(r.submissions.map((s) => s.sha256)).size,
        events: r.events.length,
      })),
      preparedOn: dateOf(this.#o.now().toISOString()),
    };
  }

  #stepRunner(requestId: string): StepRunner {
    return async <T>(name: string, body: () => Promise<T>): Promise<T> => {
      const done = await this.#o.db
        .selectFrom('privacy_steps')
        .select('result')
        .where('request_id', '=', requestId)
        .where('step', '=', name)
        .executeTakeFirst();
      if (done !== undefined) return JSON.parse(done.result) as T;
      const result = await body();
      await this.#o.db
        .insertInto('privacy_steps')
        .values({
          request_id: requestId,
          step: name,
          result: JSON.stringify(result ?? null),
          done_at: this.#o.now().toISOString(),
        })
        .execute();
      this.#stepsDone += 1;
      this.#o.afterStep?.(this.#stepsDone);
      return result;
    };
  }
}
