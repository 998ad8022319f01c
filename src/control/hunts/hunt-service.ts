import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Actor, AuditSink } from '../../ports/audit-sink.js';
import type { SiteClient } from '../../ports/site-client.js';
import { HuntError } from '../../shared/hunt-errors.js';
import { nextPause, SITE_WAIT, type SiteWaitSettings, sleepOf } from '../../shared/site-wait.js';
import { compiledRulesOf, rulesSha256 } from '../../shared/yara-rules.js';
import { actorOf, type Principal } from '../auth/roles.js';
import { visibleSites } from '../auth/site-scope.js';
import { runHuntRound } from './hunt-job.js';
import { type HuntStatus, statusOf } from './hunt-status.js';
import { type HuntMatch, HuntStore } from './hunt-store.js';
import type { HuntState, HuntTables } from './hunt-tables.js';

export interface HuntServiceOptions {
  readonly db: Kysely<HuntTables>;
  readonly sites: ReadonlyMap<string, SiteClient>;
  readonly audit: AuditSink;
  readonly now: () => Date;
  /** False in one-shot processes (the CLI): only the serving process runs hunts. */
  readonly canRun: boolean;
  /** Samples per batch at a site (64 unless given). */
  readonly batchSize?: number;
  /**
   * How long an `active` hunt rests between looks for new samples when nothing woke it
   * (uploads through this control plane wake it at once: {@link HuntService.nudge}); 30 s
   * unless given.
   */
  readonly livePollMs?: number;
  readonly siteWait?: SiteWaitSettings;
  readonly onBackgroundError?: (error: unknown, context: string) => void;
}

interface Running {
  readonly done: Promise<void>;
  wake: AbortController;
  stopWanted: boolean;
  waitingFor: string[];
}

const RUNNING_STATES: readonly HuntState[] = ['scanning', 'active'];

/**
 * YARA hunts: an analyst's rule set matched against every sample of the token's sites, as a
 * durable background job (`hunts`, `hunt_sites`, `hunt_matches` in the control plane), batch
 * by batch through `SiteClient.scanSamples`. The sites decrypt and match; the control plane
 * keeps the cursors, the tallies and the matches, and logs each hunt's start and end.
 *
 * @example
 * const hunt = await hunts.start(principal, { name: 'emotet', rules });
 * await hunts.stop(principal, hunt.id); // once its scan of the stored samples is through
 */
export class HuntService {
  readonly #o: HuntServiceOptions;
  readonly #store: HuntStore;
  readonly #running = new Map<string, Running>();
  #closed = false;

  constructor(options: HuntServiceOptions) {
    this.#o = options;
    this.#store = new HuntStore(options.db);
  }

  /** Compiles the rules (400 if they do not), records the hunt, logs it and starts it. */
  async start(principal: Principal, request: { name?: string; rules: string }): Promise<HuntStatus> {
    this.#assertCanRun();
    // Kept compiled: a site in this process scans with the same rule set next.
    compiledRulesOf(request.rules);
    const sites = visibleSites(principal, this.#o.sites);
    const usage = await Promise.allSettled(sites.map((s) => s.usage()));
    const total = (key: 'samples' | 'bytes') =>
      usage.reduce((n, u) => n + (u.status === 'fulfilled' ? u.value[key] : 0), 0);
    const id = randomUUID();
    const time = this.#o.now().toISOString();
    const actor = actorOf(principal);
    const sha256 = rulesSha256(request.rules);
    const siteNames = sites.map((s) => s.name);
    await this.#store.create(
      {
        id,
        name: request.name ?? '',
        owner_token: principal.tokenId,
        actor: JSON.stringify(actor),
        rules: request.rules,
        rules_sha256: sha256,
        sites: JSON.stringify(siteNames),
        state: 'scanning',
        created_at: time,
        updated_at: time,
        scanned_at: null,
        finished_at: null,
        samples_total: total('samples'),
        bytes_total: total('bytes'),
        error: null,
        ended_by: null,
      },
      siteNames,
    );
    // The rules' hash, never their text (nor the hunt's name): see docs/hunts.md.
    await this.#o.audit.append({
      type: 'hunt.started',
      time,
      actor,
      hunt: id,
      rulesSha256: sha256,
      sites: siteNames,
    });
    this.#launch(id);
    return this.get(principal, id);
  }

  async get(principal: Principal, id: string): Promise<HuntStatus> {
    const row = await this.#store.row(id, principal.tokenId);
    const sites = await this.#store.sites(id);
    return statusOf(row, sites, await this.#store.matchCount(id), this.#running.get(id)?.waitingFor ?? []);
  }

  /** The token's hunts, newest first. */
  async list(
    principal: Principal,
    options: { limit?: number | undefined; cursor?: string | undefined },
  ): Promise<{ hunts: HuntStatus[]; next: string | null }> {
    const page = await this.#store.page(principal.tokenId, options);
    return { hunts: await Promise.all(page.ids.map((id) => this.get(principal, id))), next: page.next };
  }

  /** The hunt's matches in the order they were found; only at the sites the token reaches. */
  async matches(
    principal: Principal,
    id: string,
    options: { limit?: number | undefined; cursor?: string | undefined },
  ): Promise<{ matches: HuntMatch[]; next: string | null }> {
    const row = await this.#store.row(id, principal.tokenId);
    const sites = (JSON.parse(row.sites) as string[]).filter((s) =>
      visibleSites(principal, this.#o.sites).some((v) => v.name === s),
    );
    return this.#store.matches(id, sites, options);
  }

  /** Pauses after the batch in progress; `resume` goes on from there. */
  async pause(principal: Principal, id: string): Promise<HuntStatus> {
    await this.#transition(principal, id, RUNNING_STATES, () => ({ state: 'paused' }));
    await this.#stopRunning(id);
    return this.get(principal, id);
  }

  async resume(principal: Principal, id: string): Promise<HuntStatus> {
    this.#assertCanRun();
    const row = await this.#store.row(id, principal.tokenId);
    await this.#transition(principal, id, ['paused', 'failed'], () => ({
      state: row.scanned_at === null ? 'scanning' : 'active',
      error: null,
    }));
    this.#launch(id);
    return this.get(principal, id);
  }

  /** Ends live hunting, once the scan of the stored samples is through. Logged. */
  async stop(principal: Principal, id: string): Promise<HuntStatus> {
    const row = await this.#store.row(id, principal.tokenId);
    if (row.scanned_at === null && RUNNING_STATES.concat(['paused', 'failed']).includes(row.state)) {
      throw new HuntError(
        'HUNT_STATE',
        `hunt ${id} is still scanning the stored samples: cancel it instead`,
        {
          details: { value: row.state },
        },
      );
    }
    return this.#end(principal, id, 'stopped');
  }

  /** Abandons the hunt at any point; what it found so far stays listed. Logged. */
  cancel(principal: Principal, id: string): Promise<HuntStatus> {
    return this.#end(principal, id, 'cancelled');
  }

  /** Wakes the active hunts at once (a sample was just stored) rather than at their next look. */
  nudge(): void {
    for (const running of this.#running.values()) running.wake.abort();
  }

  /** Resumes the hunts a stop or a crash interrupted, and logs ends a crash kept off the log. */
  async resumeInterrupted(): Promise<void> {
    for (const id of await this.#store.inStates(['stopped', 'cancelled'])) await this.#logEnd(id);
    for (const id of await this.#store.inStates(RUNNING_STATES)) this.#launch(id);
  }

  /** Stops every hunt between batches (a restart resumes them). */
  async close(): Promise<void> {
    this.#closed = true;
    const running = [...this.#running.values()];
    for (const r of running) r.wake.abort();
    await Promise.all(running.map((r) => r.done));
  }

  async #end(principal: Principal, id: string, state: 'stopped' | 'cancelled'): Promise<HuntStatus> {
    const time = this.#o.now().toISOString();
    await this.#transition(principal, id, [...RUNNING_STATES, 'paused', 'failed'], () => ({
      state,
      finished_at: time,
      ended_by: JSON.stringify(actorOf(principal)),
    }));
    // Nothing is recorded after the entry: the batch in progress lands first.
    await this.#stopRunning(id);
    await this.#logEnd(id);
    return this.get(principal, id);
  }

  /** The end's log entry, then the rules' text goes (the hunt runs no more); idempotent. */
  async #logEnd(id: string): Promise<void> {
    const row = await this.#store.row(id);
    if (row.ended_by === null) return;
    const status = statusOf(row, await this.#store.sites(id), await this.#store.matchCount(id), []);
    await this.#o.audit.append({
      type: `hunt.${row.state}`,
      time: row.finished_at ?? this.#o.now().toISOString(),
      actor: JSON.parse(row.ended_by) as Actor,
      hunt: id,
      rulesSha256: row.rules_sha256,
      samples: status.progress.samplesDone,
      bytes: status.progress.bytesDone,
      matches: status.progress.matches,
    });
    await this.#store.update(id, { ended_by: null, rules: '' });
  }

  async #transition(
    principal: Principal,
    id: string,
    from: readonly HuntState[],
    values: () => { state: HuntState } & Record<string, unknown>,
  ): Promise<void> {
    const row = await this.#store.row(id, principal.tokenId);
    const next = values();
    const changed =
      from.includes(row.state) &&
      (await this.#store.transition(id, from, { ...next, updated_at: this.#o.now().toISOString() }));
    if (!changed) {
      throw new HuntError('HUNT_STATE', `hunt ${id} is ${row.state}; cannot make it ${next.state}`, {
        details: { value: row.state },
      });
    }
  }

  async #stopRunning(id: string): Promise<void> {
    const running = this.#running.get(id);
    if (running === undefined) return;
    running.stopWanted = true;
    running.wake.abort();
    await running.done;
  }

  #launch(id: string): void {
    if (this.#closed || !this.#o.canRun || this.#running.has(id)) return;
    const running: Running = {
      done: Promise.resolve(),
      wake: new AbortController(),
      stopWanted: false,
      waitingFor: [],
    };
    this.#running.set(id, running);
    (running as { done: Promise<void> }).done = this.#drive(id, running)
      .catch(async (error: unknown) => {
        this.#o.onBackgroundError?.(error, `hunt ${id}`);
        const message = error instanceof Error ? error.message : String(error);
        await this.#store
          .transition(id, RUNNING_STATES, { state: 'failed', error: message })
          .catch(() => undefined);
      })
      .finally(() => {
        if (this.#running.get(id) === running) this.#running.delete(id);
      });
  }

  /** Rounds until the hunt is no longer scanning or active, or the process closes. */
  async #drive(id: string, running: Running): Promise<void> {
    let pause: number | undefined;
    for (;;) {
      if (this.#closed || running.stopWanted) return;
      const hunt = await this.#store.row(id);
      if (!RUNNING_STATES.includes(hunt.state)) return;
      const outcome = await runHuntRound(hunt, {
        store: this.#store,
        sites: this.#o.sites,
        batchSize: this.#o.batchSize ?? 64,
        now: this.#o.now,
        shouldStop: () => this.#closed || running.stopWanted,
      });
      running.waitingFor = [...outcome.away];
      if (outcome.more) continue;
      pause = outcome.away.length > 0 ? nextPause(this.#siteWait, pause) : undefined;
      await this.#rest(running, pause ?? this.#o.livePollMs ?? 30_000);
    }
  }

  async #rest(running: Running, ms: number): Promise<void> {
    await sleepOf(this.#siteWait)(ms, running.wake.signal);
    if (running.wake.signal.aborted) running.wake = new AbortController();
  }

  get #siteWait(): SiteWaitSettings {
    return this.#o.siteWait ?? SITE_WAIT;
  }

  #assertCanRun(): void {
    if (!this.#o.canRun) {
      throw new HuntError(
        'HUNT_UNAVAILABLE',
        'hunts run in the serving process: use the API of a running server',
      );
    }
  }
}
