import type { Kysely } from 'kysely';
import { decodeCursor, pageOf } from '../../shared/cursor.js';
import type { HistoryItem, LegalRequest, LegalState } from './legal-request.js';
import type { LegalRequestsTable, LegalTables } from './legal-tables.js';

export interface StoredRequest {
  readonly request: LegalRequest;
  /** The key of the request's `details` commitments. */
  readonly salt: Buffer;
}

/** The load of a history file that an insert records. */
export interface FileImport {
  readonly sha256: string;
  readonly attempt: number;
}

export interface RequestFilter {
  readonly state?: LegalState | undefined;
  readonly category?: string | undefined;
  /** On `receivedAt`, inclusive. */
  readonly from?: string | undefined;
  /** On `receivedAt`, exclusive. */
  readonly to?: string | undefined;
  readonly limit: number;
  /** A cursor from the previous page's `next`. */
  readonly cursor?: string | undefined;
}

/** The desk's rows in `control.db`: each change of a request and its history item in one transaction. */
export class LegalStore {
  readonly #db: Kysely<LegalTables>;

  constructor(db: Kysely<LegalTables>) {
    this.#db = db;
  }

  async insert(
    requests: readonly StoredRequest[],
    items: readonly HistoryItem[],
    now: string,
    file?: FileImport,
  ): Promise<void> {
    await this.#db.transaction().execute(async (tx) => {
      if (file !== undefined) {
        await tx
          .insertInto('legal_imports')
          .values({ sha256: file.sha256, attempt: file.attempt, rows: requests.length, imported_at: now })
          .execute();
      }
      for (let i = 0; i < requests.length; i += 200) {
        await tx
          .insertInto('legal_requests')
          .values(requests.slice(i, i + 200).map((r) => toRow(r, now)))
          .execute();
        await tx
          .insertInto('legal_request_events')
          .values(requests.slice(i, i + 200).map((r, j) => eventRow(r.request.id, items[i + j]!)))
          .execute();
      }
    });
  }

  async update(stored: StoredRequest, item: HistoryItem, now: string): Promise<void> {
    const { id: _id, created_at: _created, salt: _salt, ...changes } = toRow(stored, now);
    await this.#db.transaction().execute(async (tx) => {
      await tx.updateTable('legal_requests').set(changes).where('id', '=', stored.request.id).execute();
      await tx.insertInto('legal_request_events').values(eventRow(stored.request.id, item)).execute();
    });
  }

  /** Appends a history item without changing the request (a package download). */
  async note(id: string, item: HistoryItem): Promise<void> {
    await this.#db.insertInto('legal_request_events').values(eventRow(id, item)).execute();
  }

  async get(id: string): Promise<StoredRequest | undefined> {
    const row = await this.#db
      .selectFrom('legal_requests')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  }

  async history(id: string): Promise<HistoryItem[]> {
    const rows = await this.#db
      .selectFrom('legal_request_events')
      .selectAll()
      .where('request_id', '=', id)
      .orderBy('seq')
      .execute();
    return rows.map((row) => ({
      at: row.at,
      action: row.action as HistoryItem['action'],
      actor: { role: row.actor_role, token: row.actor_token },
      state: row.state as LegalState,
      reason: row.reason as HistoryItem['reason'],
      data: JSON.parse(row.data) as Record<string, unknown>,
    }));
  }

  /** One page in (received, created, id) order, and the cursor of the next. */
  async list(filter: RequestFilter): Promise<{ requests: LegalRequest[]; next: string | null }> {
    let query = this.#db.selectFrom('legal_requests').selectAll();
    if (filter.state !== undefined) query = query.where('state', '=', filter.state);
    if (filter.category !== undefined) query = query.where('category', '=', filter.category);
    if (filter.from !== undefined) query = query.where('received_at', '>=', filter.from);
    if (filter.to !== undefined) query = query.where('received_at', '<', filter.to);
    if (filter.cursor !== undefined) {
      const [received, created, id] = decodeCursor(filter.cursor, 3);
      query = query.where((eb) =>
        eb(
          eb.refTuple('received_at', 'created_at', 'id'),
          '>',
          eb.tuple(received ?? '', created ?? '', id ?? ''),
        ),
      );
    }
    const rows = await query
      .orderBy('received_at')
      .orderBy('created_at')
      .orderBy('id')
      .limit(filter.limit + 1)
      .execute();
    const page = pageOf(rows, filter.limit, (row) => [row.received_at, row.created_at, row.id]);
    return { requests: page.rows.map((row) => fromRow(row).request), next: page.next };
  }

  /** Which of these ids exist already. */
  /** Earlier loads of a history file, oldest first. */
  async imports(sha256: string): Promise<{ attempt: number; rows: number; importedAt: string }[]> {
    const rows = await this.#db
      .selectFrom('legal_imports')
      .select(['attempt', 'rows', 'imported_at'])
      .where('sha256', '=', sha256)
      .orderBy('attempt')
      .execute();
    return rows.map((r) => ({ attempt: r.attempt, rows: r.rows, importedAt: r.imported_at }));
  }
}

function toRow({ request: r, salt }: StoredRequest, now: string): LegalRequestsTable {
  return {
    id: r.id,
    received_at: r.receivedAt,
    requester_country: r.requesterCountry,
    authority_kind: r.authorityKind,
    authority: r.authority,
    legal_basis: r.legalBasis,
    reference: r.reference,
    category: r.category,
    scope: JSON.stringify(r.scope),
    due_at: r.dueAt,
    state: r.state,
    reason: r.reason,
    closed_at: r.closedAt,
    officers: JSON.stringify(r.officers),
    verification: r.verification === null ? null : JSON.stringify(r.verification),
    package: r.package === null ? null : JSON.stringify(r.package),
    salt: salt.toString('hex'),
    historical: r.historical ? 1 : 0,
    created_at: r.createdAt,
    updated_at: now,
  };
}

function fromRow(row: LegalRequestsTable): StoredRequest {
  return {
    salt: Buffer.from(row.salt, 'hex'),
    request: {
      id: row.id,
      receivedAt: row.received_at,
      requesterCountry: row.requester_country,
      authorityKind: row.authority_kind as LegalRequest['authorityKind'],
      authority: row.authority,
      legalBasis: row.legal_basis,
      reference: row.reference,
      category: row.category as LegalRequest['category'],
      scope: JSON.parse(row.scope) as LegalRequest['scope'],
      dueAt: row.due_at,
      state: row.state as LegalState,
      reason: row.reason as LegalRequest['reason'],
      closedAt: row.closed_at,
      officers: JSON.parse(row.officers) as string[],
      verification:
        row.verification === null ? null : (JSON.parse(row.verification) as LegalRequest['verification']),
      package: row.package === null ? null : (JSON.parse(row.package) as LegalRequest['package']),
      historical: row.historical === 1,
      createdAt: row.created_at,
    },
  };
}

function eventRow(id: string, item: HistoryItem) {
  return {
    request_id: id,
    at: item.at,
    action: item.action,
    actor_role: item.actor.role,
    actor_token: item.actor.token,
    state: item.state,
    reason: item.reason,
    data: JSON.stringify(item.data),
  };
}
