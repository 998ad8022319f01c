import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Actor, AuditSink } from '../../ports/audit-sink.js';
import type { SiteClient } from '../../ports/site-client.js';
import type { DomainEvents } from '../../shared/domain-events.js';
import { tablesOf } from '../../shared/narrow.js';
import { unavailableSites } from '../../shared/site-errors.js';
import { nextPause, SITE_WAIT, type SiteWaitSettings, sleepOf } from '../../shared/site-wait.js';
import type { InstallationRegistry } from '../residency/installation-registry.js';
import type { PolicyService } from '../residency/policy-service.js';
import type { ResidencyTables } from '../residency/residency-tables.js';
import { RelocationError } from './relocation-errors.js';
import { type JobControl, runRelocationJob } from './relocation-job.js';
import { RelocationJournal } from './relocation-journal.js';
import { planRelocation, type RelocationPlan } from './relocation-plan.js';
import { type RelocationStatus, statusOf } from './relocation-status.js';
import type { BatchContext } from './relocation-steps.js';
import type { RelocationState, RelocationTables } from './relocation-tables.js';
import { Throttle } from './throttle.js';
import type { WriteGate } from './write-gate.js';

export type { Progress, RelocationStatus } from './relocation-status.js';

export interface RelocationSettings {
  /** Installations per batch (one freeze, one switch, one purge, one set of log entries). */
  readonly batchSize: number;
  /** Plaintext bytes copied per second, in MB (10^6 B); 0 for no limit. */
  readonly rateLimitMbps: number;
}

export interface RelocationServiceOptions {
  readonly db: Kysely<RelocationTables & ResidencyTables>;
  /** Where installations live; the only writer of its table (the switch goes through it). */
  readonly registry: InstallationRegistry;
  readonly policy: PolicyService;
  readonly sites: ReadonlyMap<string, SiteClient>;
  readonly gate: WriteGate;
  readonly audit: AuditSink;
  readonly now: () => Date;
  readonly defaults: RelocationSettings;
  /** False in one-shot processes (the CLI): only the serving process runs relocations. */
  readonly canRun: boolean;
  readonly onBackgroundError?: (error: unknown, context: string) => void;
  /** How the job waits for a site that is away (1 s doubling to 30 s unless given). */
  readonly siteWait?: SiteWaitSettings;
  /** Told when a job ends (`relocation.finished`). */
  readonly events?: DomainEvents;
}

interface Running {
  readonly id: string;
  readonly done: Promise<void>;
  readonly startedAt: number;
  bytes: number;
  /** The sites the job waits for; empty while it works. */
  waitingFor: readonly string[];
  /** Ends the current wait early (a pause, a cancel, a resume, the close). */
  wake: AbortController;
  /** Told when the job starts waiting for a site (a cancel returns then). */
  readonly waitListeners: Set<() => void>;
}

/**
 * Moves installations' stored records to the site the policy in force assigns them, as a
 * durable background job journaled in the control plane (`relocations`, `relocation_items`).
 * The job survives restarts: the serving process resumes it at start.
 *
 * @example
 * const plan = await relocations.plan();
 * const { id } = await relocations.start({ batchSize: 50, rateLimitMbps: 0 }, actor);
 */
export class RelocationService {
  readonly #o: RelocationServiceOptions;
  readonly #journal: RelocationJournal;
  #running: Running | undefined;
  #closed = false;
  #stopWanted = false;
  #relaunch = false;

  constructor(options: RelocationServiceOptions) {
    this.#o = options;
    this.#journal = new RelocationJournal(tablesOf<RelocationTables>(options.db));
  }

  plan(): Promise<RelocationPlan> {
    return planRelocation({
      registry: this.#o.registry,
      policy: this.#o.policy,
      sites: this.#o.sites,
      now: this.#o.now(),
    });
  }

  async start(settings: Partial<RelocationSettings>, actor: Actor): Promise<RelocationStatus> {
    this.#assertCanRun();
    const batchSize = settings.batchSize ?? this.#o.defaults.batchSize;
    const rateLimitMbps = settings.rateLimitMbps ?? this.#o.defaults.rateLimitMbps;
    const active = await this.#journal.active();
    if (active !== undefined) {
      throw new RelocationError('RELOCATION_ACTIVE', `relocation ${active} is not finished`, {
        details: { relocation: active },
      });
    }
    const plan = await this.plan();
    const id = randomUUID();
    const time = this.#o.now().toISOString();
    await this.#journal.create(id, plan, { batchSize, rateLimitMbps }, actor, time);
    await this.#o.audit.append({
      type: 'relocation.started',
      time,
      actor,
      relocation: id,
      policyVersion: plan.policyVersion,
      installations: plan.installations,
      routes: plan.groups.map((g) => ({
        source: g.source,
        target: g.target,
        installations: g.installations,
      })),
    });
    this.#launch(id);
    return this.get(id);
  }

  async get(id: string): Promise<RelocationStatus> {
    const row = await this.#journal.row(id);
    const running = this.#running?.id === id ? this.#running : undefined;
    return statusOf(row, await this.#journal.tallies(id), running, Date.now());
  }

  /** One page of relocations, newest first, and the cursor of the next page. */
  async list(
    options: { limit?: number | undefined; cursor?: string | undefined } = {},
  ): Promise<{ relocations: RelocationStatus[]; next: string | null }> {
    const page = await this.#journal.page(options);
    return { relocations: await Promise.all(page.ids.map((id) => this.get(id))), next: page.next };
  }

  /** Every relocation not finished (running, paused, cancelling or failed), with its progress. */
  async unfinished(): Promise<RelocationStatus[]> {
    const ids = await this.#journal.inState(['running', 'paused', 'cancelling', 'failed']);
    return Promise.all(ids.map((id) => this.get(id)));
  }

  async pause(id: string): Promise<RelocationStatus> {
    await this.#transition(id, ['running'], 'paused');
    return this.get(id);
  }

  async resume(id: string): Promise<RelocationStatus> {
    this.#assertCanRun();
    await this.#transition(id, ['paused', 'failed', 'running'], 'running');
    this.#running?.wake.abort();
    this.#launch(id);
    return this.get(id);
  }

  /**
   * Stops the job: the batch in progress is finished if its registry switch happened, rolled
   * back at the target otherwise; installations not reached stay at their source.
   */
  async cancel(id: string): Promise<RelocationStatus> {
    this.#assertCanRun();
    await this.#transition(id, ['running', 'paused', 'failed', 'cancelling'], 'cancelling');
    this.#launch(id);
    // A rollback needs the target: when it is away the job waits for it, and so do we not.
    for (let r = this.#running; r?.id === id && r.waitingFor.length === 0; r = this.#running) {
      await stoppedOrWaiting(r);
    }
    return this.get(id);
  }

  /** Resumes the jobs a stop or a crash interrupted (the serving process calls it at start). */
  async resumeInterrupted(): Promise<void> {
    for (const id of await this.#journal.inState(['running', 'cancelling'])) this.#launch(id);
  }

  /** Waits for the job of this process to stop between installations (a restart resumes it). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#running?.wake.abort();
    await this.#running?.done;
  }

  /** Resolves once the job that runs in this process (if any) has stopped. */
  async settled(): Promise<void> {
    while (this.#running !== undefined) await this.#running.done;
  }

  #launch(id: string): void {
    if (this.#closed) return;
    if (this.#running !== undefined) {
      // The drive may be past its last state check: look again once it has stopped.
      if (this.#running.id === id) this.#relaunch = true;
      return;
    }
    const running: Running = {
      id,
      startedAt: Date.now(),
      bytes: 0,
      done: Promise.resolve(),
      waitingFor: [],
      wake: new AbortController(),
      waitListeners: new Set(),
    };
    this.#running = running;
    (running as { done: Promise<void> }).done = this.#drive(running)
      .catch(async (error: unknown) => {
        this.#o.onBackgroundError?.(error, `relocation ${id}`);
        await this.#journal
          .recordFailure(id, messageOf(error), this.#o.now().toISOString())
          .catch(() => undefined);
      })
      .finally(() => {
        if (this.#running === running) this.#running = undefined;
        if (this.#relaunch) {
          this.#relaunch = false;
          this.#launch(id);
        }
      });
  }

  async #drive(running: Running): Promise<void> {
    const row = await this.#journal.row(running.id);
    const ctx: BatchContext = {
      relocationId: running.id,
      db: this.#o.db,
      registry: this.#o.registry,
      sites: this.#o.sites,
      gate: this.#o.gate,
      controlAudit: this.#o.audit,
      actor: JSON.parse(row.actor) as Actor,
      throttle: new Throttle(row.rate_limit_mbps * 1e6),
      now: this.#o.now,
      onBytes: (n) => {
        running.bytes += n;
      },
      shouldStop: () => this.#closed || this.#stopWanted,
      patiently: (call) => this.#patiently(running, call),
    };
    const control: JobControl = {
      journal: this.#journal,
      audit: this.#o.audit,
      now: this.#o.now,
      closed: () => this.#closed,
      clearStop: () => {
        this.#stopWanted = false;
      },
      totals: async () => {
        const status = await this.get(running.id);
        return { ...status.installations, bytes: status.bytes.done };
      },
    };
    for (;;) {
      try {
        await runRelocationJob(ctx, control);
        await this.#reportFinished(running.id);
        return;
      } catch (error) {
        // A site away is no failure: wait for it, then resume from the journal, which
        // redoes the step it stopped in (every step is idempotent).
        const away = unavailableSites(error);
        if (away === undefined) throw error;
        if (this.#closed) return;
        await this.#waitForSites(running, away);
      }
    }
  }

  /** Logs the end of a job that reached `done` or `cancelled` (not one stopped by a close). */
  async #reportFinished(id: string): Promise<void> {
    if (this.#o.events === undefined) return;
    const status = await this.get(id);
    if (status.state !== 'done' && status.state !== 'cancelled') return;
    this.#o.events('relocation.finished', {
      relocation: id,
      state: status.state,
      installations: status.installations.done,
      skipped: status.installations.skipped,
      rolledBack: status.installations.rolledBack,
      records: status.records.done,
      bytes: status.bytes.done,
    });
  }

  /** Looks at the sites' health after each pause until they all answer, or the wait is cut short. */
  async #waitForSites(running: Running, away: readonly string[]): Promise<void> {
    let pause: number | undefined;
    this.#showWaiting(running, away);
    try {
      for (;;) {
        pause = nextPause(this.#siteWait, pause);
        if (!(await this.#rest(running, pause))) return;
        const missing = running.waitingFor;
        const answers = await Promise.allSettled(missing.map((name) => this.#o.sites.get(name)?.health()));
        running.waitingFor = missing.filter((_, i) => answers[i]?.status === 'rejected');
        if (running.waitingFor.length === 0) return;
      }
    } finally {
      running.waitingFor = [];
    }
  }

  /** Runs a site call again after a pause while its site is away (see `BatchContext.patiently`). */
  async #patiently<T>(running: Running, call: () => Promise<T>): Promise<T> {
    let pause: number | undefined;
    try {
      for (;;) {
        try {
          return await call();
        } catch (error) {
          const away = unavailableSites(error);
          if (away === undefined || this.#closed) throw error;
          this.#showWaiting(running, away);
          pause = nextPause(this.#siteWait, pause);
          await this.#rest(running, pause);
        }
      }
    } finally {
      running.waitingFor = [];
    }
  }

  #showWaiting(running: Running, sites: readonly string[]): void {
    running.waitingFor = sites;
    for (const listener of running.waitListeners) listener();
  }

  /** One pause; false when it was cut short (a pause, cancel or resume) or the service closes. */
  async #rest(running: Running, ms: number): Promise<boolean> {
    await sleepOf(this.#siteWait)(ms, running.wake.signal);
    if (running.wake.signal.aborted) {
      running.wake = new AbortController();
      return false;
    }
    return !this.#closed;
  }

  get #siteWait(): SiteWaitSettings {
    return this.#o.siteWait ?? SITE_WAIT;
  }

  async #transition(id: string, from: readonly RelocationState[], to: RelocationState): Promise<void> {
    const row = await this.#journal.row(id);
    if (!from.includes(row.state)) {
      throw new RelocationError(
        'RELOCATION_STATE',
        `relocation ${id} is ${row.state}; cannot make it ${to}`,
        {
          details: { state: row.state },
        },
      );
    }
    await this.#journal.setState(id, to, this.#o.now().toISOString());
    if (this.#running?.id === id && to !== 'running') {
      this.#stopWanted = true;
      this.#running.wake.abort();
    }
  }

  #assertCanRun(): void {
    if (!this.#o.canRun) {
      throw new RelocationError(
        'RELOCATION_UNAVAILABLE',
        'relocations run in the serving process: use the API of a running server (--url)',
      );
    }
  }
}

/** Resolves once the job has stopped or starts waiting for a site. */
function stoppedOrWaiting(running: Running): Promise<void> {
  return new Promise((resolve) => {
    const listener = () => {
      running.waitListeners.delete(listener);
      resolve();
    };
    running.waitListeners.add(listener);
    void running.done.then(listener);
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
