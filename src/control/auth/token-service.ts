import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Actor, AuditSink } from '../../ports/audit-sink.js';
import type { DomainEvents } from '../../shared/domain-events.js';
import { AuthError } from './auth-errors.js';
import type { AuthTables } from './auth-tables.js';
import { LastUseRecorder } from './last-use.js';
import { ensurePerson, normalizePersonName, type Person, personCommitment } from './people.js';
import { isRole, PERSONAL_ROLES, type Principal, type Role } from './roles.js';
import { parseExpiry } from './token-expiry.js';

const TOKEN_PREFIX = 'glh';
const MAX_CACHED_TOKENS = 10_000;
/** How stale the cache may be after another process (the CLI) revokes a token. */
const VERSION_CHECK_MS = 100;
const TOKEN_PATTERN = /^glh_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface TokenInfo {
  readonly id: string;
  readonly role: Role;
  readonly sites: readonly string[] | '*';
  readonly label: string;
  /** The holder's name; null for product tokens and tokens made before people were. */
  readonly person: string | null;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  /** When it last authenticated, to the minute; null if never. */
  readonly lastUsedAt: string | null;
  /** At the service's clock: `active` until it is revoked or expires. */
  readonly state: 'active' | 'expired' | 'revoked';
}

export interface NewToken {
  readonly role: string;
  readonly sites?: readonly string[] | undefined;
  readonly label?: string | undefined;
  /** The person the token belongs to; required for the officer roles (`PERSONAL_ROLES`). */
  readonly person?: string | undefined;
  /** A duration (`90d`) or an ISO 8601 date; see `parseExpiry`. */
  readonly expires?: string | undefined;
}

export interface TokenServiceOptions {
  readonly db: Kysely<AuthTables>;
  /** Changes when another process (the CLI) writes the store: drops the cache of tokens. */
  readonly externalVersion?: () => number;
  readonly knownSites: ReadonlySet<string>;
  readonly audit: AuditSink;
  readonly now?: () => Date;
  /** Where a failed write of a token's last use is reported (it never fails a request). */
  readonly onBackgroundError?: (error: unknown) => void;
  /** Told when a token is created or revoked (its id and role: never its secret or person). */
  readonly events?: DomainEvents;
}

interface CachedToken {
  readonly principal: Principal;
  /** ms since the epoch; Infinity for a token that never expires. */
  readonly expiresAt: number;
}

/**
 * API tokens: 256 random bits shown once, stored as SHA-256 (a slow hash adds nothing to a
 * secret of that entropy), looked up by their public id and compared in constant time. A
 * token names the person it belongs to (one active token per person and role), may expire,
 * and remembers its last use for access reviews.
 */
export class TokenService {
  readonly #db: Kysely<AuthTables>;
  readonly #knownSites: ReadonlySet<string>;
  readonly #audit: AuditSink;
  readonly #events: DomainEvents | undefined;
  readonly #now: () => Date;
  readonly #externalVersion: () => number;
  readonly #lastUse: LastUseRecorder;
  /** Tokens seen recently, by their full text: every request authenticates, most with few tokens. */
  readonly #cache = new Map<string, CachedToken>();
  #cachedAtVersion = Number.NaN;
  #versionCheckedAt = Number.NEGATIVE_INFINITY;

  constructor(options: TokenServiceOptions) {
    this.#db = options.db;
    this.#knownSites = options.knownSites;
    this.#audit = options.audit;
    this.#events = options.events;
    this.#now = options.now ?? (() => new Date());
    this.#externalVersion = options.externalVersion ?? (() => Number.NaN);
    this.#lastUse = new LastUseRecorder(options.db, options.onBackgroundError ?? (() => undefined));
  }

  /**
   * Creates a token. Refused (`ACTIVE_TOKEN_EXISTS`) while the person holds an active token
   * of the same role: revoke it first, or let it expire.
   *
   * @example
   * const { token } = await tokens.create({ role: 'legal', person: 'Ada Lovelace', expires: '90d' }, cliActor);
   */
  async create(request: NewToken, actor: Actor): Promise<TokenInfo & { token: string }> {
    const role = this.#checkRole(request.role);
    const sites = this.#checkSites(request.sites);
    const now = this.#now();
    const expiresAt = request.expires === undefined ? null : parseExpiry(request.expires, now).toISOString();
    const given = request.person === undefined ? undefined : normalizePersonName(request.person);
    if (given === undefined && PERSONAL_ROLES.includes(role)) {
      throw new AuthError(
        'INVALID_TOKEN_REQUEST',
        `a ${role} token names the person it belongs to (--person)`,
        {
          details: { field: 'person' },
        },
      );
    }
    const id = randomBytes(6).toString('hex');
    const token = `${TOKEN_PREFIX}_${id}_${randomBytes(32).toString('base64url')}`;
    const createdAt = now.toISOString();
    const person = await this.#db.transaction().execute(async (trx) => {
      const holder = given === undefined ? null : await ensurePerson(trx, given, createdAt);
      if (given !== undefined) await refuseSecondActiveToken(trx, given.key, role, createdAt);
      await trx
        .insertInto('tokens')
        .values({
          id,
          token_hash: hashToken(token),
          role,
          sites: JSON.stringify(sites),
          label: request.label ?? '',
          created_at: createdAt,
          person: given?.key ?? null,
          expires_at: expiresAt,
          last_used_at: null,
        })
        .execute();
      return holder;
    });
    await this.#audit.append({
      type: 'token.created',
      time: createdAt,
      actor,
      tokenId: id,
      role,
      sites,
      person: person?.commitment ?? null,
      expiresAt,
    });
    this.#events?.('token.created', { token: id, role, personal: person !== null, expiresAt });
    const info: TokenInfo = {
      id,
      role,
      sites,
      label: request.label ?? '',
      person: person?.name ?? null,
      createdAt,
      expiresAt,
      revokedAt: null,
      lastUsedAt: null,
      state: 'active',
    };
    return { ...info, token };
  }

  /** Every token, oldest first, with its person, expiry and last use (never its secret). */
  async list(): Promise<TokenInfo[]> {
    const rows = await this.#tokenRows().orderBy('tokens.created_at').execute();
    const now = this.#now();
    return rows.map((row) => toInfo(row, now));
  }

  /**
   * One token's record (never its secret), whatever its state.
   *
   * @example
   * const { role, expiresAt } = await tokens.info(principal.tokenId); // GET /v1/session
   */
  async info(id: string): Promise<TokenInfo> {
    const row = await this.#tokenRows().where('tokens.id', '=', id).executeTakeFirst();
    if (row === undefined) throw new AuthError('TOKEN_NOT_FOUND', `no token with id "${id}"`);
    return toInfo(row, this.#now());
  }

  /**
   * Revokes a token. A token revoked already is refused (`TOKEN_ALREADY_REVOKED`) rather than
   * revoked again: one revocation, one entry in the log, one actor.
   */
  async revoke(id: string, actor: Actor): Promise<TokenInfo> {
    const time = this.#now().toISOString();
    const revoked = await this.#db
      .updateTable('tokens')
      .set({ revoked_at: time })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (revoked.numUpdatedRows === 0n) throw await this.#whyNotRevoked(id);
    this.#cache.clear();
    await this.#audit.append({ type: 'token.revoked', time, actor, tokenId: id });
    const row = await this.#tokenRows().where('tokens.id', '=', id).executeTakeFirstOrThrow();
    this.#events?.('token.revoked', { token: id, role: row.role });
    return toInfo(row, this.#now());
  }

  async #whyNotRevoked(id: string): Promise<AuthError> {
    const row = await this.#db
      .selectFrom('tokens')
      .select('revoked_at')
      .where('id', '=', id)
      .executeTakeFirst();
    if (row === undefined || row.revoked_at === null) {
      return new AuthError('TOKEN_NOT_FOUND', `no active token with id "${id}"`);
    }
    return new AuthError('TOKEN_ALREADY_REVOKED', `token ${id} was revoked at ${row.revoked_at}`, {
      details: { value: row.revoked_at },
    });
  }

  /**
   * The principal of a token seen recently, from memory, without waiting; `undefined` when it
   * is not cached or has expired (then call {@link authenticate}, which says which).
   */
  authenticateCached(presented: string | undefined): Principal | undefined {
    if (presented === undefined) return undefined;
    // A revoke by another process bumps the store's version, so the cache outlives it by at
    // most VERSION_CHECK_MS. The check itself is a SQLite call: not one per request.
    const wall = Date.now();
    if (wall - this.#versionCheckedAt >= VERSION_CHECK_MS) {
      this.#versionCheckedAt = wall;
      const version = this.#externalVersion();
      if (version !== this.#cachedAtVersion) {
        this.#cache.clear();
        this.#cachedAtVersion = version;
      }
    }
    const cached = this.#cache.get(presented);
    if (cached === undefined) return undefined;
    // The service's clock, not the wall's: expiry is a decision, and tests pin the clock.
    const now = this.#now();
    if (now.getTime() >= cached.expiresAt) {
      this.#cache.delete(presented);
      return undefined;
    }
    this.#lastUse.used(cached.principal.tokenId, now);
    return cached.principal;
  }

  /**
   * Resolves a presented bearer token; `undefined` for anything unknown, malformed or
   * revoked. Throws `TOKEN_EXPIRED` for a genuine token past its expiry.
   */
  async authenticate(presented: string): Promise<Principal | undefined> {
    const cached = this.authenticateCached(presented);
    if (cached !== undefined) return cached;
    const found = await this.#lookUp(presented);
    if (found === undefined) return undefined;
    const now = this.#now();
    if (now.getTime() >= found.expiresAt) {
      throw new AuthError('TOKEN_EXPIRED', `token ${found.principal.tokenId} expired; ask for a new one`);
    }
    if (this.#cache.size >= MAX_CACHED_TOKENS) this.#cache.clear();
    this.#cache.set(presented, found);
    this.#lastUse.used(found.principal.tokenId, now);
    return found.principal;
  }

  /** Waits for the last-use writes under way; call before closing the store. */
  async close(): Promise<void> {
    await this.#lastUse.flush();
  }

  async #lookUp(presented: string): Promise<CachedToken | undefined> {
    const match = TOKEN_PATTERN.exec(presented);
    if (match === null) return undefined;
    const row = await this.#tokenRows().where('tokens.id', '=', match[1]!).executeTakeFirst();
    if (row === undefined || row.revoked_at !== null) return undefined;
    const expected = Buffer.from(row.token_hash, 'hex');
    if (!timingSafeEqual(expected, Buffer.from(hashToken(presented), 'hex'))) return undefined;
    const info = toInfo(row, this.#now());
    return {
      principal: { tokenId: info.id, role: info.role, sites: info.sites, person: personOf(row) },
      expiresAt: row.expires_at === null ? Number.POSITIVE_INFINITY : Date.parse(row.expires_at),
    };
  }

  #tokenRows() {
    return this.#db
      .selectFrom('tokens')
      .leftJoin('people', 'people.key', 'tokens.person')
      .selectAll('tokens')
      .select(['people.name as person_name', 'people.salt as person_salt']);
  }

  #checkRole(role: string): Role {
    if (!isRole(role)) {
      throw new AuthError('INVALID_TOKEN_REQUEST', `unknown role "${role}"`, { details: { field: 'role' } });
    }
    return role;
  }

  #checkSites(requested: readonly string[] | undefined): readonly string[] | '*' {
    const unknown = (requested ?? []).filter((s) => !this.#knownSites.has(s));
    if (unknown.length > 0) {
      throw new AuthError('INVALID_TOKEN_REQUEST', `unknown site(s): ${unknown.join(', ')}`, {
        details: { field: 'sites' },
      });
    }
    return requested === undefined || requested.length === 0 ? '*' : [...new Set(requested)];
  }
}

/** A person holds at most one active (neither revoked nor expired) token per role. */
async function refuseSecondActiveToken(db: Kysely<AuthTables>, person: string, role: Role, now: string) {
  const active = await db
    .selectFrom('tokens')
    .select('id')
    .where('person', '=', person)
    .where('role', '=', role)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirst();
  if (active !== undefined) {
    throw new AuthError(
      'ACTIVE_TOKEN_EXISTS',
      `this person already holds an active ${role} token (${active.id}); revoke it first`,
      { details: { field: 'person', value: active.id } },
    );
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

interface TokenRow {
  id: string;
  role: string;
  sites: string;
  label: string;
  created_at: string;
  revoked_at: string | null;
  person: string | null;
  expires_at: string | null;
  last_used_at: string | null;
  person_name: string | null;
  person_salt: string | null;
}

function personOf(row: TokenRow): Person | null {
  if (row.person === null || row.person_name === null || row.person_salt === null) return null;
  return { name: row.person_name, commitment: personCommitment(row.person_salt, row.person) };
}

function toInfo(row: TokenRow, now: Date): TokenInfo {
  const sites = JSON.parse(row.sites) as string[] | '*';
  return {
    id: row.id,
    role: row.role as Role,
    sites,
    label: row.label,
    person: row.person_name,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    state:
      row.revoked_at !== null
        ? 'revoked'
        : row.expires_at !== null && Date.parse(row.expires_at) <= now.getTime()
          ? 'expired'
          : 'active',
  };
}
