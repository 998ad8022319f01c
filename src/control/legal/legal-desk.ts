import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { Actor, AuditSink } from '../../ports/audit-sink.js';
import { pageOf } from '../../shared/cursor.js';
import type { DomainEvents } from '../../shared/domain-events.js';
import { alreadyImportedProblem, type EarlierImport } from '../../shared/history-import.js';
import { actorOf, type Principal } from '../auth/roles.js';
import { assertSitesAccess, mayAccessSites } from '../auth/site-scope.js';
import { type ActionInput, decideStep } from './legal-decision.js';
import { LegalError } from './legal-errors.js';
import { type FulfilmentSources, packagePath } from './legal-fulfilment.js';
import { type HistoricalRequest, parseHistory } from './legal-history.js';
import { commitDetails, legalLogEntry } from './legal-log.js';
import {
  type HistoryItem,
  isFinal,
  type LegalRequest,
  type NewLegalRequest,
  utcDate,
} from './legal-request.js';
import { assertActionAllowed, step } from './legal-state-machine.js';
import { LegalStore, type RequestFilter } from './legal-store.js';
import type { LegalTables } from './legal-tables.js';
import { validateNewRequest } from './legal-validation.js';

export type { ActionInput } from './legal-decision.js';

export interface LegalDeskOptions extends FulfilmentSources {
  readonly db: Kysely<LegalTables>;
  readonly audit: AuditSink;
  readonly now: () => Date;
  /** Told when a history import is loaded (`legal.history_imported`). */
  readonly events?: DomainEvents;
}

export interface ActionResult {
  readonly request: LegalRequest;
  /** Present once, when `fulfil` wrote a package: its password is never shown again. */
  readonly package?: {
    readonly password: string;
    readonly sha256: string;
    readonly bytes: number;
    readonly files: readonly string[];
  };
}

export interface HistoryImport {
  readonly imported: number;
  /** Of those, requests still open: they are on the desk as `received`. */
  readonly open: number;
  readonly sha256: string;
}

/**
 * The legal desk: government and law-enforcement requests from receipt to outcome, each step
 * checked against the state machine, four eyes on every verification, the jurisdiction rule
 * on every disclosure, and each step on the control log (`legal.request`, docs/log.md) before
 * it is stored and answered. Steps take turns, so two officers acting at once on one request
 * see each other's result.
 */
export class LegalDesk {
  readonly #o: LegalDeskOptions;
  readonly #store: LegalStore;
  #turn: Promise<unknown> = Promise.resolve();

  constructor(options: LegalDeskOptions) {
    this.#o = options;
    this.#store = new LegalStore(options.db);
  }

  /**
   * Registers a request as received. One log entry (`event: received`).
   *
   * @example
   * const request = await desk.receive({ receivedAt: '2021-08-03', requesterCountry: 'DE', … }, principal);
   */
  async receive(input: NewLegalRequest, principal: Principal): Promise<LegalRequest> {
    const now = this.#o.now();
    const checked = validateNewRequest(input, utcDate(now));
    assertSitesAccess(principal, await this.#sitesOf(checked.scope.installations));
    const request: LegalRequest = {
      ...checked,
      id: randomUUID(),
      state: 'received',
      reason: null,
      closedAt: null,
      officers: [principal.tokenId],
      verification: null,
      package: null,
      historical: false,
      createdAt: now.toISOString(),
    };
    const salt = randomBytes(32);
    const item = historyItem('received', request, actorOf(principal), now, {});
    return this.#exclusive(async () => {
      await this.#o.audit.append(
        legalLogEntry('received', request, commitDetails(salt, unpublished(request, item)), item.actor, now),
      );
      await this.#store.insert([{ request, salt }], [item], now.toISOString());
      return request;
    });
  }

  async get(id: string, principal: Principal): Promise<LegalRequest & { history: HistoryItem[] }> {
    const stored = await this.#reachable(id, principal);
    return { ...stored.request, history: await this.#store.history(id) };
  }

  /**
   * One page of the requests the token may see (see {@link LegalDesk.#sitesOf}), oldest
   * received first, and the cursor of the next page. A token of some sites pages over the
   * requests it may see: the rest are skipped, not counted.
   */
  async list(
    filter: RequestFilter,
    principal: Principal,
  ): Promise<{ requests: LegalRequest[]; next: string | null }> {
    if (principal.sites === '*') return this.#store.list(filter);
    const after = await this.#store.list({ ...filter, limit: Number.MAX_SAFE_INTEGER - 1 });
    const located = await this.#o.registry.locate([
      ...new Set(after.requests.flatMap((r) => r.scope.installations)),
    ]);
    const visible = after.requests.filter((r) =>
      mayAccessSites(
        principal,
        r.scope.installations.flatMap((i) => located.get(i)?.site ?? []),
      ),
    );
    const page = pageOf(visible, filter.limit, (r) => [r.receivedAt, r.createdAt, r.id]);
    return { requests: page.rows, next: page.next };
  }

  /**
   * Takes one action on a request: a transition of the state machine, or a 409 that changes
   * nothing. `fulfil` searches, decides the outcome and writes the package.
   */
  act(id: string, input: ActionInput, principal: Principal): Promise<ActionResult> {
    return this.#exclusive(async () => {
      const { request, salt } = await this.#reachable(id, principal);
      assertActionAllowed(request.state, input.action);
      const now = this.#o.now();
      const decided = await decideStep(request, input, principal, now, this.#o);
      step(request.state, input.action, decided.state, decided.reason);
      const next: LegalRequest = {
        ...request,
        state: decided.state,
        reason: decided.reason,
        closedAt: isFinal(decided.state) ? utcDate(now) : null,
        officers: request.officers.includes(principal.tokenId)
          ? request.officers
          : [...request.officers, principal.tokenId],
        verification: decided.verification ?? request.verification,
        package: decided.package ?? request.package,
      };
      const item = historyItem(input.action, next, actorOf(principal), now, {
        ...(input.note === undefined ? {} : { note: input.note }),
        ...decided.data,
      });
      await this.#o.audit.append(
        legalLogEntry('transition', next, commitDetails(salt, unpublished(next, item)), item.actor, now),
      );
      await this.#store.update({ request: next, salt }, item, now.toISOString());
      return {
        request: next,
        ...(decided.password === undefined
          ? {}
          : { package: { ...next.package!, password: decided.password } }),
      };
    });
  }

  /**
   * Loads an organisation's past requests from CSV (see `parseHistory`): all rows or, if any
   * is bad, none (`INVALID_LEGAL_HISTORY` lists them by line). Closed rows keep their outcome;
   * open rows (no outcome, no `closed_at`) enter the desk as `received`, to be worked on. One
   * log entry per row (`event: imported`). A file loaded before is refused
   * (`LEGAL_HISTORY_ALREADY_IMPORTED`) unless `again`, which loads its rows as new requests.
   * A row's id derives from the file's hash, the load and its line, so a load interrupted
   * between the log and the database can be repeated without counting a request twice.
   *
   * @example
   * await desk.importHistory(readFileSync('history.csv', 'utf8'), { role: 'legal', token: 'tok_1' });
   */
  /** Requests not closed, by state, for `/metrics`. */
  async openByState(): Promise<Map<string, number>> {
    const rows = await this.#o.db
      .selectFrom('legal_requests')
      .select((eb) => ['state', eb.fn.countAll<number>().as('count')])
      .where('closed_at', 'is', null)
      .groupBy('state')
      .execute();
    return new Map(rows.map((r) => [r.state, Number(r.count)]));
  }

  async importHistory(csv: string, actor: Actor, options: { again?: boolean } = {}): Promise<HistoryImport> {
    const now = this.#o.now();
    const parsed = parseHistory(csv, utcDate(now));
    if (parsed.bad.length > 0) {
      const first = parsed.bad[0]!;
      throw new LegalError(
        'INVALID_LEGAL_HISTORY',
        `${parsed.bad.length} bad row(s) (first: line ${first.line}: ${first.message}); nothing was loaded`,
        { details: { invalidLines: parsed.bad.length, errors: parsed.bad.slice(0, 100) } },
      );
    }
    const sha256 = createHash('sha256').update(csv, 'utf8').digest('hex');
    return this.#exclusive(async () => {
      const earlier = await this.#store.imports(sha256);
      if (earlier.length > 0 && options.again !== true) throw alreadyImported(sha256, earlier);
      const attempt = earlier.length;
      const stored = parsed.rows.map((row) => {
        const request = historicalRequest(
          row,
          idFromHash(`${sha256}:${importKey(attempt)}${row.line}`),
          actor,
          now,
        );
        const item = historyItem('imported', request, actor, now, { file: sha256, line: row.line });
        return { request, salt: randomBytes(32), item };
      });
      for (let i = 0; i < stored.length; i += 1000) {
        await Promise.all(
          stored
            .slice(i, i + 1000)
            .map(({ request, salt, item }) =>
              this.#o.audit.append(
                legalLogEntry(
                  'imported',
                  request,
                  commitDetails(salt, unpublished(request, item)),
                  actor,
                  now,
                ),
              ),
            ),
        );
      }
      await this.#store.insert(
        stored,
        stored.map((s) => s.item),
        now.toISOString(),
        { sha256, attempt },
      );
      const result = {
        imported: stored.length,
        open: stored.filter((s) => s.request.closedAt === null).length,
        sha256,
      };
      this.#o.events?.('legal.history_imported', result);
      return result;
    });
  }

  /** The encrypted package, for download; the download is on the control log before a byte is sent. */
  async openPackage(
    id: string,
    principal: Principal,
  ): Promise<{ stream: Readable; bytes: number; sha256: string }> {
    const { request } = await this.#reachable(id, principal);
    const info = request.package;
    if (info === null)
      throw new LegalError('LEGAL_PACKAGE_NOT_FOUND', 'this request has no disclosure package');
    const path = packagePath(this.#o.packageDirectory, id);
    const { size } = await stat(path);
    const now = this.#o.now();
    const actor = actorOf(principal);
    await this.#o.audit.append({
      type: 'legal.package.downloaded',
      time: now.toISOString(),
      actor,
      request: id,
      sha256: info.sha256,
    });
    await this.#store.note(
      id,
      historyItem('package_downloaded', request, actor, now, { sha256: info.sha256 }),
    );
    return { stream: createReadStream(path), bytes: size, sha256: info.sha256 };
  }

  /**
   * Site scope of a request: the sites the registry assigns its installations to now. A
   * request naming none (technical expertise, history) is every legal officer's; one naming
   * installations at two sites is reached only by a token of both. Refused with 403
   * `FORBIDDEN_SITE` before anything is read further or changed.
   */
  async #reachable(id: string, principal: Principal) {
    const stored = await this.#stored(id);
    assertSitesAccess(principal, await this.#sitesOf(stored.request.scope.installations));
    return stored;
  }

  async #sitesOf(installations: readonly string[]): Promise<Set<string>> {
    if (installations.length === 0) return new Set();
    const located = await this.#o.registry.locate(installations);
    return new Set([...located.values()].map((l) => l.site));
  }

  async #stored(id: string) {
    const stored = await this.#store.get(id);
    if (stored === undefined)
      throw new LegalError('LEGAL_REQUEST_NOT_FOUND', 'no legal request with that id');
    return stored;
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#turn.then(work, work);
    this.#turn = result.catch(() => undefined);
    return result;
  }
}

function historyItem(
  action: HistoryItem['action'],
  request: LegalRequest,
  actor: Actor,
  now: Date,
  data: Record<string, unknown>,
): HistoryItem {
  return {
    at: now.toISOString(),
    action,
    actor,
    state: request.state,
    reason: request.reason,
    data,
  };
}

/** What the log commits to and does not show: the case file as it stands, and this step. */
function unpublished(request: LegalRequest, item: HistoryItem): Record<string, unknown> {
  return {
    authority: request.authority,
    legalBasis: request.legalBasis,
    reference: request.reference,
    scope: request.scope,
    dueAt: request.dueAt,
    officers: request.officers,
    verification: request.verification,
    package: request.package,
    step: { action: item.action, at: item.at, data: item.data },
  };
}

function historicalRequest(row: HistoricalRequest, id: string, actor: Actor, now: Date): LegalRequest {
  return {
    id,
    receivedAt: row.receivedAt,
    requesterCountry: row.requesterCountry,
    authorityKind: row.authorityKind,
    authority: '',
    legalBasis: '',
    reference: '',
    category: row.category,
    scope: { installations: [], hashes: [], threats: [], from: null, to: null, text: '' },
    dueAt: null,
    state: row.outcome,
    reason: row.reason,
    closedAt: row.closedAt,
    officers: [actor.token],
    verification: null,
    package: null,
    historical: true,
    createdAt: now.toISOString(),
  };
}

/** The first load keeps the ids it always had (`sha:line`); later ones are `sha:#n:line`. */
function importKey(attempt: number): string {
  return attempt === 0 ? '' : `#${attempt}:`;
}

function alreadyImported(sha256: string, earlier: readonly EarlierImport[]): LegalError {
  const { message, details } = alreadyImportedProblem(sha256, earlier);
  return new LegalError('LEGAL_HISTORY_ALREADY_IMPORTED', message, { details });
}

/** An RFC 9562 version-8 UUID from a SHA-256: stable for the same file and line. */
function idFromHash(text: string): string {
  const bytes = createHash('sha256').update(text).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
