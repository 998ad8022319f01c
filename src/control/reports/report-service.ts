import { LedgerError } from '../../ledger/ledger-errors.js';
import { parseCheckpoint } from '../../ledger/note/index.js';
import type { PolicyVersion } from '../residency/policy.js';
import { DeskStateFolder, type DeskStates } from './desk-entries.js';
import { type Period, previousPeriod } from './period.js';
import {
  REPORT_SCHEMA,
  REPORT_SCHEMA_VERSION,
  type Report,
  type ReportCheckpoint,
  residencySnapshot,
} from './report.js';
import {
  type CountryRow,
  computeReportNumbers,
  type PeriodSummary,
  periodContext,
} from './report-numbers.js';
import { reportWitnesses } from './report-witnesses.js';

/** What a report's page shows beyond the report: the comparisons a reader asks for. */
export interface ReportContext {
  /** The previous period's requests by country: the change per country. */
  readonly previousByCountry: readonly CountryRow[];
  /** The headline figures of every period in the trend (published periods of the same kind), oldest first. */
  readonly trend: readonly PeriodSummary[];
}

export interface ReportPage {
  readonly report: Report;
  readonly context: ReportContext;
}

/** What reports need of the control-plane log. */
export interface ReportLog {
  checkpoint(): Promise<string | undefined>;
  readEntries(from: number, to: number): Promise<Buffer[]>;
  /** Publishes a checkpoint covering every durable entry (the serving process only). */
  publish?(): Promise<void>;
}

export interface ReportServiceOptions {
  readonly log: ReportLog;
  readonly registry: { countBySite(): Promise<Record<string, number>> };
  readonly policy: { inForce(): Promise<PolicyVersion | undefined> };
  readonly sites: readonly string[];
  readonly now: () => Date;
  /** The verifier keys of the log's witnesses (`ledger.witnesses`): a report names those that cosigned. */
  readonly witnessKeys?: readonly string[];
}

const READ_CHUNK = 4096;

/**
 * Builds transparency reports from the control-plane log at its latest checkpoint.
 *
 * @example
 * const report = await reports.build(parsePeriod('2021-H2'));
 */
export class ReportService {
  readonly #o: ReportServiceOptions;

  constructor(options: ReportServiceOptions) {
    this.#o = options;
  }

  async build(period: Period): Promise<Report> {
    const [page] = await this.buildPages([period], []);
    return page!.report;
  }

  /**
   * Several reports at one checkpoint, each with its page's context: the previous period by
   * country, and a trend over the `trend` periods of the same kind (a year's page trends over
   * years, a half's over halves).
   *
   * @example
   * const pages = await reports.buildPages(published, published);
   */
  async buildPages(periods: readonly Period[], trend: readonly Period[]): Promise<ReportPage[]> {
    // A fresh checkpoint, so the report counts what the desks recorded up to now.
    await this.#o.log.publish?.();
    const checkpoint = await this.#checkpoint();
    const states = await foldLogPrefix(this.#o.log, checkpoint.size);
    const [bySite, policy] = await Promise.all([this.#o.registry.countBySite(), this.#o.policy.inForce()]);
    const residency = residencySnapshot(bySite, this.#o.sites, policy);
    const generatedAt = this.#o.now().toISOString();
    return periods.map((period) => ({
      report: {
        $schema: REPORT_SCHEMA,
        schemaVersion: REPORT_SCHEMA_VERSION,
        ...computeReportNumbers(states, period),
        generatedAt,
        checkpoint,
        residency,
      },
      context: {
        previousByCountry: periodContext(states, previousPeriod(period)).byCountry,
        trend: trend.filter((t) => t.kind === period.kind).map((t) => periodContext(states, t).summary),
      },
    }));
  }

  async #checkpoint(): Promise<ReportCheckpoint> {
    const note = await this.#o.log.checkpoint();
    if (note === undefined)
      throw new LedgerError('TILE_NOT_FOUND', 'the control log has published nothing yet');
    const body = parseCheckpoint(note.slice(0, note.indexOf('\n\n') + 1));
    return {
      origin: body.origin,
      size: body.treeSize,
      rootHash: body.rootHash.toString('base64'),
      note,
      witnesses: reportWitnesses(note, this.#o.witnessKeys ?? []),
    };
  }
}

/** The desks' states in the first `size` entries, read a chunk at a time. */
async function foldLogPrefix(log: ReportLog, size: number): Promise<DeskStates> {
  const folder = new DeskStateFolder();
  for (let from = 0; from < size; from += READ_CHUNK) {
    folder.add(await log.readEntries(from, Math.min(size, from + READ_CHUNK)));
  }
  return folder.states();
}
