import type { Kysely } from 'kysely';
import type { Actor, AuditSink } from '../../ports/audit-sink.js';
import type { DomainEvents } from '../../shared/domain-events.js';
import { formatPeriod, type Period, parsePeriod, periodBounds } from './period.js';
import type { PublicationTables } from './publication-tables.js';
import { ReportError } from './report-errors.js';

export interface Publication {
  readonly period: string;
  readonly publishedAt: string;
}

export interface ReportPublicationsOptions {
  readonly db: Kysely<PublicationTables>;
  readonly audit: AuditSink;
  readonly now: () => Date;
  /** Told when a period is published or withdrawn (`report.published`, `report.withdrawn`). */
  readonly events?: DomainEvents;
}

/**
 * Which periods' transparency reports are public: an admin's decision, each one on the
 * control log (`report.published`, `report.withdrawn`) before it takes effect. Only
 * published periods are served without a token (`/reports/`) and written by
 * `report build --out`.
 *
 * @example
 * await publications.publish(parsePeriod('2021-H2'), { role: 'admin', token: 'tok_1' });
 */
export class ReportPublications {
  readonly #o: ReportPublicationsOptions;

  constructor(options: ReportPublicationsOptions) {
    this.#o = options;
  }

  /** Published periods, oldest first. */
  async list(): Promise<Publication[]> {
    const rows = await this.#o.db.selectFrom('published_reports').selectAll().execute();
    return rows
      .map((r) => ({ period: r.period, publishedAt: r.published_at }))
      .sort((a, b) => periodOrder(a.period, b.period));
  }

  async isPublished(period: Period): Promise<boolean> {
    const row = await this.#o.db
      .selectFrom('published_reports')
      .select('period')
      .where('period', '=', formatPeriod(period))
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Makes a period's report public; publishing it again changes nothing. */
  async publish(period: Period, actor: Actor): Promise<Publication> {
    const name = formatPeriod(period);
    const now = this.#o.now();
    if (periodBounds(period).first > now.toISOString().slice(0, 10)) {
      throw new ReportError('INVALID_PERIOD', `${name} has not begun: there is nothing to publish`);
    }
    const existing = (await this.list()).find((p) => p.period === name);
    if (existing !== undefined) return existing;
    const publishedAt = now.toISOString();
    await this.#o.audit.append({ type: 'report.published', time: publishedAt, actor, period: name });
    await this.#o.db
      .insertInto('published_reports')
      .values({ period: name, published_at: publishedAt, published_by: actor.token })
      .onConflict((c) => c.doNothing())
      .execute();
    this.#o.events?.('report.published', { period: name });
    return { period: name, publishedAt };
  }

  /**
   * Takes a period's report off the public pages (the log keeps that it was public). A period
   * that is not published stays so, and nothing is logged.
   */
  async withdraw(period: Period, actor: Actor): Promise<void> {
    const name = formatPeriod(period);
    if (!(await this.isPublished(period))) return;
    const time = this.#o.now().toISOString();
    await this.#o.audit.append({ type: 'report.withdrawn', time, actor, period: name });
    await this.#o.db.deleteFrom('published_reports').where('period', '=', name).execute();
    this.#o.events?.('report.withdrawn', { period: name });
  }
}

/** Oldest first; a year before its halves. */
export function periodOrder(a: string, b: string): number {
  const [pa, pb] = [periodBounds(parsePeriod(a)), periodBounds(parsePeriod(b))];
  return pa.first.localeCompare(pb.first) || pb.last.localeCompare(pa.last);
}
