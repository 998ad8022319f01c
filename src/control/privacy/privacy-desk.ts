import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { TransparencyLog } from '../../ledger/transparency-log.js';
import type { Actor } from '../../ports/audit-sink.js';
import type { SiteClient } from '../../ports/site-client.js';
import { decodeCursor, pageOf } from '../../shared/cursor.js';
import type { DomainEvents } from '../../shared/domain-events.js';
import { alreadyImportedProblem } from '../../shared/history-import.js';
import { insertionOrder } from '../../shared/sql-dialect.js';
import { AuthError } from '../auth/auth-errors.js';
import { type Principal, actorOf as principalActor } from '../auth/roles.js';
import { assertSiteAccess, mayAccessSite, visibleSiteMap } from '../auth/site-scope.js';
import type { InstallationRegistry } from '../residency/installation-registry.js';
import { collectRecords, type ExportDocument, exportArchive } from './export-archive.js';
import { type HistoryImport, type HistoryRow, parseHistory } from './history-import.js';
import { PrivacyError } from './privacy-errors.js';
import { DESK_ACTOR, privacyLogEntry, USER_ACTOR } from './privacy-log.js';
import {
  DUE_DAYS,
  type Extension,
  isOpen,
  type PrivacyRequest,
  type RejectionReason,
  type RequestState,
  type RequestType,
} from './privacy-request.js';
import type { PrivacyRequestsTable, PrivacyTables } from './privacy-tables.js';

export interface PrivacyDeskOptions {
  readonly db: Kysely<PrivacyTables>;
  readonly registry: InstallationRegistry;
  readonly sites: ReadonlyMap<string, SiteClient>;
  /** The control plane's log. */
  readonly audit: TransparencyLog;
  readonly now: () => Date;
  /** Called when a request becomes ready for the background job (`PrivacyWorker.kick`). */
  readonly onReady?: () => void;
  /** The sites the background job waits for to answer this request (see PrivacyWorker). */
  readonly waitingFor?: (requestId: string) => readonly string[];
  /** Told when a history import is loaded (`privacy.history_imported`). */
  readonly events?: DomainEvents;
}

/** Who files a request: the user with their secret, or a privacy officer on their behalf. */
export type Filer =
  | { readonly kind: 'user' }
  | { readonly kind: 'officer'; readonly principal: Principal; readonly verificationNote?: string };

/**
 * Who reads or acts on a request: its own installation, a privacy officer (within the sites
 * of their token), or the desk itself (its own follow-ups).
 */
export type Viewer =
  | { readonly kind: 'installation'; readonly id: string }
  | { readonly kind: 'officer'; readonly principal: Principal }
  | { readonly kind: 'desk' };

const DESK: Viewer = { kind: 'desk' };

export interface RequestFilter {
  readonly state?: RequestState;
  readonly type?: RequestType;
  readonly overdue?: boolean;
  readonly limit?: number;
  /** A cursor from the previous page's `next`. */
  readonly cursor?: string;
}

const DAY_MS = 86_400_000;

/**
 * The privacy desk: users' requests about their own data (inventory, export, erasure), filed
 * by the user or by an officer, answered by a durable background job (see `PrivacyWorker`).
 */
export class PrivacyDesk {
  readonly #o: PrivacyDeskOptions;

  constructor(options: PrivacyDeskOptions) {
    this.#o = options;
  }

  /**
   * Files a request. A user's secret is its verification; an officer's request is verified
   * when it carries a verification note, else it waits in `received` for `verify`.
   *
   * @example
   * const request = await desk.file({ type: 'erasure', installation: id }, { kind: 'user' });
   */
  async file(
    input: { readonly type: RequestType; readonly installation: string },
    filer: Filer,
  ): Promise<PrivacyRequest & { readonly receiptToken?: string }> {
    const installation = await this.#o.registry.get(input.installation);
    if (filer.kind === 'officer') assertSiteAccess(filer.principal, installation.site);
    const site = this.#site(installation.site);
    // Taken now, while the key exists: every entry of this request carries it, even after erasure.
    const commitment = await site.commitInstallation(installation.id, 'installation', installation.id);
    const now = this.#o.now();
    // A user may not queue the same request twice; it is filed, and refused on the record.
    const open = filer.kind === 'user' ? await this.#openOfType(installation.id, input.type) : undefined;
    const verified = open === undefined && (filer.kind === 'user' || filer.verificationNote !== undefined);
    const receiptToken = input.type === 'erasure' ? randomBytes(32).toString('base64url') : undefined;
    const row: PrivacyRequestsTable = {
      id: randomUUID(),
      type: input.type,
      state: verified ? 'verified' : 'received',
      installation_id: installation.id,
      installation_commitment: commitment,
      filed_by: filer.kind,
      officer_token: filer.kind === 'officer' ? filer.principal.tokenId : null,
      verification_note: filer.kind === 'officer' ? (filer.verificationNote ?? null) : null,
      received_at: now.toISOString(),
      due_at: new Date(now.getTime() + DUE_DAYS * DAY_MS).toISOString(),
      extensions: '[]',
      closed_at: null,
      reason: null,
      note: null,
      answer: null,
      imported: 0,
      receipt_token_hash: receiptToken === undefined ? null : sha256Hex(receiptToken),
      site: installation.site,
    };
    await this.#o.db.insertInto('privacy_requests').values(row).execute();
    await this.#o.audit.append(privacyLogEntry(row, 'received', actorOf(filer), now));
    if (open !== undefined) {
      return this.reject(
        row.id,
        'too_many_requests',
        `request ${open} of this type is still open`,
        DESK_ACTOR,
        DESK,
      );
    }
    if (verified) this.#o.onReady?.();
    const request = await this.#toRequest(row);
    return receiptToken === undefined ? request : { ...request, receiptToken };
  }

  /**
   * Drops an erased installation's id from every request of it (only commitments remain),
   * as the erasure's receipt step does; for erasures re-applied after a restore.
   */
  async forgetInstallation(installationId: string): Promise<void> {
    await this.#o.db
      .updateTable('privacy_requests')
      .set({ installation_id: null })
      .where('installation_id', '=', installationId)
      .execute();
  }

  async get(id: string, viewer: Viewer): Promise<PrivacyRequest> {
    return this.#toRequest(await this.#row(id, viewer));
  }

  /**
   * One page of requests, newest first, and the cursor of the next page; an officer's pages
   * hold only the requests of the token's sites.
   */
  async list(
    filter: RequestFilter,
    principal: Principal,
  ): Promise<{ requests: PrivacyRequest[]; next: string | null }> {
    let query = this.#o.db.selectFrom('privacy_requests').selectAll();
    if (filter.state !== undefined) query = query.where('state', '=', filter.state);
    if (filter.type !== undefined) query = query.where('type', '=', filter.type);
    if (filter.overdue === true) {
      query = query.where('state', 'not in', ['completed', 'rejected']).where('due_at', '<', this.#nowIso());
    }
    if (filter.cursor !== undefined) {
      const [received, id] = decodeCursor(filter.cursor, 2);
      query = query.where((eb) =>
        eb(eb.refTuple('received_at', 'id'), '<', eb.tuple(received ?? '', id ?? '')),
      );
    }
    const limit = filter.limit ?? 1000;
    const ordered = query.orderBy('received_at', 'desc').orderBy('id', 'desc');
    const rows =
      principal.sites === '*'
        ? await ordered.limit(limit + 1).execute()
        : await this.#visible(await ordered.execute(), principal);
    const page = pageOf(rows, limit, (row) => [row.received_at, row.id]);
    return { requests: await Promise.all(page.rows.map((row) => this.#toRequest(row))), next: page.next };
  }

  /** An officer confirms the identity behind a request filed without a verification note. */
  async verify(id: string, note: string, principal: Principal): Promise<PrivacyRequest> {
    const viewer: Viewer = { kind: 'officer', principal };
    const row = await this.#row(id, viewer);
    if (row.state !== 'received') throw closed(row, 'only a received request can be verified');
    await this.#o.db
      .updateTable('privacy_requests')
      .set({ state: 'verified', verification_note: note, officer_token: principal.tokenId })
      .where('id', '=', id)
      .where('state', '=', 'received')
      .execute();
    this.#o.onReady?.();
    return this.get(id, viewer);
  }

  /** Rejects a request the job has not started, with a Data Rights Protocol reason. */
  async reject(
    id: string,
    reason: RejectionReason,
    note: string,
    actor: Actor,
    viewer: Viewer,
  ): Promise<PrivacyRequest> {
    const row = await this.#row(id, viewer);
    if (row.state !== 'received' && row.state !== 'verified') {
      throw closed(row, 'only a request not yet in progress can be rejected');
    }
    const now = this.#o.now();
    const updated = await this.#o.db
      .updateTable('privacy_requests')
      .set({ state: 'rejected', reason, note, closed_at: now.toISOString() })
      .where('id', '=', id)
      .where('state', '=', row.state)
      .executeTakeFirst();
    // The worker may have taken it meanwhile.
    if (updated.numUpdatedRows === 0n) throw closed(row, 'the request is already being answered');
    const after = await this.#row(id, DESK);
    await this.#o.audit.append(privacyLogEntry(after, 'rejected', actor, now));
    return this.#toRequest(after);
  }

  /** Extends the due date of an open request, with the reason the user is told. */
  async extend(id: string, days: number, reason: string, viewer: Viewer): Promise<PrivacyRequest> {
    const row = await this.#row(id, viewer);
    if (!isOpen(row.state as RequestState)) throw closed(row, 'the request is closed');
    const extensions: Extension[] = [
      ...(JSON.parse(row.extensions) as Extension[]),
      { days, reason, at: this.#nowIso() },
    ];
    await this.#o.db
      .updateTable('privacy_requests')
      .set({
        due_at: new Date(Date.parse(row.due_at) + days * DAY_MS).toISOString(),
        extensions: JSON.stringify(extensions),
      })
      .where('id', '=', id)
      .execute();
    return this.get(id, viewer);
  }

  /**
   * The export of a completed `export` request: one AES-256 zip (password `infected`) holding
   * `export.json` and `samples/<sha256>`, built from what the sites hold now, never stored.
   */
  async openExport(id: string, viewer: Viewer): Promise<Readable> {
    const row = await this.#row(id, viewer);
    if (row.type !== 'export' || row.state !== 'completed' || row.installation_id === null) {
      throw new PrivacyError('EXPORT_NOT_AVAILABLE', 'only a completed export request has an export');
    }
    // An officer's copy holds what the token's sites hold; the user's own copy, every site's.
    const sites = viewer.kind === 'officer' ? visibleSiteMap(viewer.principal, this.#o.sites) : this.#o.sites;
    const document: ExportDocument = {
      format: 'glasshouse-privacy-export/v1',
      generatedAt: this.#nowIso(),
      installation: await this.#o.registry.get(row.installation_id),
      sites: await collectRecords(row.installation_id, sites),
    };
    return exportArchive(document, sites, { role: 'privacy', token: `export:${row.id}` });
  }

  /** The receipt of an erasure, for the user who holds the receipt token given at filing. */
  async receipt(id: string, token: string): Promise<PrivacyRequest> {
    const row = await this.#o.db
      .selectFrom('privacy_requests')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    const expected = Buffer.from(row?.receipt_token_hash ?? sha256Hex(randomUUID()), 'hex');
    if (row === undefined || !timingSafeEqual(expected, Buffer.from(sha256Hex(token), 'hex'))) {
      throw new AuthError('UNAUTHENTICATED', 'the receipt token is not valid');
    }
    return this.#toRequest(row);
  }

  /**
   * Loads historical, closed requests (CSV `received_at,type,outcome,closed_at`): all of the
   * file or, if any row is bad, nothing (every bad row is reported by line). Identical rows
   * are separate requests. A file loaded before (by its SHA-256) is refused
   * (`PRIVACY_HISTORY_ALREADY_IMPORTED`) unless `again`.
   *
   * @example
   * await desk.importHistory('received_at,type,outcome,closed_at\n2021-03-01,erasure,completed,2021-03-09\n', actor);
   */
  async importHistory(csv: string, actor: Actor, options: { again?: boolean } = {}): Promise<HistoryImport> {
    const rows = parseHistory(csv);
    const sha256 = sha256Hex(csv);
    const now = this.#o.now();
    const stored = rows.map((r) => importedRow(r));
    await this.#o.db.transaction().execute(async (trx) => {
      const earlier = await trx
        .selectFrom('privacy_imports')
        .select(['rows', 'imported_at'])
        .where('sha256', '=', sha256)
        .orderBy('attempt')
        .execute();
      if (earlier.length > 0 && options.again !== true) throw alreadyImported(sha256, earlier);
      await trx
        .insertInto('privacy_imports')
        .values({ sha256, attempt: earlier.length, rows: stored.length, imported_at: now.toISOString() })
        .execute();
      for (let i = 0; i < stored.length; i += 200) {
        await trx
          .insertInto('privacy_requests')
          .values(stored.slice(i, i + 200))
          .execute();
      }
    });
    // A thousand appends at a time share the log's group commit (one at a time took minutes).
    for (let i = 0; i < stored.length; i += 1000) {
      await Promise.all(
        stored
          .slice(i, i + 1000)
          .map((row) => this.#o.audit.append(privacyLogEntry(row, 'imported', actor, now))),
      );
    }
    this.#o.events?.('privacy.history_imported', { sha256, rows: stored.length });
    return { loaded: stored.length, sha256 };
  }

  /**
   * Requests not closed, and those of them past their deadline at this desk's clock, for
   * `/metrics` (the request table holds a few requests a day: counted, not kept).
   */
  async openCounts(): Promise<{ open: number; overdue: number }> {
    const now = this.#o.now().toISOString();
    const row = await this.#o.db
      .selectFrom('privacy_requests')
      .select((eb) => [
        eb.fn.countAll<number>().as('open'),
        eb.fn.sum<number>(eb.case().when('due_at', '<', now).then(1).else(0).end()).as('overdue'),
      ])
      .where('state', 'in', ['received', 'verified', 'in_progress'])
      .executeTakeFirstOrThrow();
    return { open: Number(row.open), overdue: Number(row.overdue ?? 0) };
  }

  async #openOfType(installation: string, type: RequestType): Promise<string | undefined> {
    const row = await this.#o.db
      .selectFrom('privacy_requests')
      .select('id')
      .where('installation_id', '=', installation)
      .where('type', '=', type)
      .where('state', 'in', ['received', 'verified', 'in_progress'])
      .executeTakeFirst();
    return row?.id;
  }

  async #row(id: string, viewer: Viewer): Promise<PrivacyRequestsTable> {
    const row = await this.#o.db
      .selectFrom('privacy_requests')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    // Another installation's request is "not found", not "forbidden": ids reveal nothing.
    if (row === undefined || (viewer.kind === 'installation' && row.installation_id !== viewer.id)) {
      throw new PrivacyError('PRIVACY_REQUEST_NOT_FOUND', 'no privacy request with that id');
    }
    if (viewer.kind === 'officer') {
      const [site] = await this.#sitesOf([row]);
      if (site !== null && site !== undefined) assertSiteAccess(viewer.principal, site);
    }
    return row;
  }

  /**
   * Each request's site scope: where the registry has its installation now (relocation moves
   * it), or, once erased, where it was when filed; `null` for imported history, which is
   * every officer's.
   */
  async #sitesOf(rows: readonly PrivacyRequestsTable[]): Promise<(string | null)[]> {
    const ids = rows.flatMap((r) => (r.installation_id === null ? [] : [r.installation_id]));
    const located = await this.#o.registry.locate([...new Set(ids)]);
    return rows.map(
      (r) => (r.installation_id === null ? undefined : located.get(r.installation_id)?.site) ?? r.site,
    );
  }

  async #visible(rows: PrivacyRequestsTable[], principal: Principal): Promise<PrivacyRequestsTable[]> {
    const sites = await this.#sitesOf(rows);
    return rows.filter((_, k) => {
      const site = sites[k];
      return site === null || site === undefined || mayAccessSite(principal, site);
    });
  }

  async #toRequest(row: PrivacyRequestsTable): Promise<PrivacyRequest> {
    const steps = await this.#o.db
      .selectFrom('privacy_steps')
      .select('step')
      .where('request_id', '=', row.id)
      .orderBy(insertionOrder(this.#o.db))
      .execute();
    return {
      id: row.id,
      type: row.type as RequestType,
      state: row.state as RequestState,
      filedBy: row.filed_by as PrivacyRequest['filedBy'],
      installation: row.installation_id,
      receivedAt: row.received_at,
      dueAt: row.due_at,
      overdue: isOpen(row.state as RequestState) && row.due_at < this.#nowIso(),
      extensions: JSON.parse(row.extensions) as Extension[],
      closedAt: row.closed_at,
      reason: row.reason as RejectionReason | null,
      note: row.note,
      verificationNote: row.verification_note,
      progress: steps.map((s) => s.step),
      waitingFor: [...(this.#o.waitingFor?.(row.id) ?? [])],
      answer: row.answer === null ? null : JSON.parse(row.answer),
    };
  }

  #site(name: string): SiteClient {
    const site = this.#o.sites.get(name);
    if (site === undefined)
      throw new PrivacyError('SITE_NOT_RUNNING', `the registry names site ${name}, which is not running`);
    return site;
  }

  #nowIso(): string {
    return this.#o.now().toISOString();
  }
}

function actorOf(filer: Filer): Actor {
  return filer.kind === 'user' ? USER_ACTOR : principalActor(filer.principal);
}

function closed(row: PrivacyRequestsTable, message: string): PrivacyError {
  return new PrivacyError('PRIVACY_REQUEST_CLOSED', `${message} (state ${row.state})`, {
    details: { value: row.state },
  });
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function importedRow(r: HistoryRow): PrivacyRequestsTable {
  return {
    id: randomUUID(),
    type: r.type,
    state: r.outcome,
    installation_id: null,
    installation_commitment: null,
    filed_by: 'import',
    officer_token: null,
    verification_note: null,
    received_at: r.receivedAt,
    due_at: new Date(Date.parse(r.receivedAt) + DUE_DAYS * DAY_MS).toISOString(),
    extensions: '[]',
    closed_at: r.closedAt,
    reason: r.outcome === 'rejected' ? 'other' : null,
    note: null,
    answer: null,
    imported: 1,
    receipt_token_hash: null,
    site: null,
  };
}

function alreadyImported(
  sha256: string,
  earlier: readonly { rows: number; imported_at: string }[],
): PrivacyError {
  const loads = earlier.map((e) => ({ rows: e.rows, importedAt: e.imported_at }));
  const { message, details } = alreadyImportedProblem(sha256, loads);
  return new PrivacyError('PRIVACY_HISTORY_ALREADY_IMPORTED', message, { details });
}
