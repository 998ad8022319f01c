import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditSink } from '../ledger/audit-sink.js';
import { AuthError } from './auth-errors.js';
import type { AuthTables } from './auth-tables.js';
import { isRole, type Principal, type Role } from './roles.js';

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
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

export interface TokenServiceOptions {
  readonly db: Kysely<AuthTables>;
  /** Changes when another process (the CLI) writes the store: drops the cache of tokens. */
  readonly externalVersion?: () => number;
  readonly knownSites: ReadonlySet<string>;
  readonly audit: AuditSink;
  readonly now?: () => Date;
}

/**
 * API tokens: 256 random bits shown once, stored as SHA-256 (a slow hash adds nothing to a
 * secret of that entropy), looked up by their public id and compared in constant time.
 */
export class TokenService {
  readonly #db: Kysely<AuthTables>;
  readonly #knownSites: ReadonlySet<string>;
  readonly #audit: AuditSink;
  readonly #now: () => Date;
  readonly #externalVersion: () => number;
  /** Tokens seen recently, by their full text: every request authenticates, most with few tokens. */
  readonly #cache = new Map<string, Principal>();
  #cachedAtVersion = Number.NaN;
  #versionCheckedAt = Number.NEGATIVE_INFINITY;

  constructor(options: TokenServiceOptions) {
    this.#db = options.db;
    this.#knownSites = options.knownSites;
    this.#audit = options.audit;
    this.#now = options.now ?? (() => new Date());
    this.#externalVersion = options.externalVersion ?? (() => Number.NaN);
  }

  /**
   * @example
   * const { token } = await tokens.create({ role: 'analyst', sites: ['zurich'] }, cliActor);
   */
  async create(
    request: { role: string; sites?: readonly string[] | undefined; label?: string | undefined },
    actor: { role: string; token: string },
  ): Promise<TokenInfo & { token: string }> {
    if (!isRole(request.role)) {
      throw new AuthError('INVALID_TOKEN_REQUEST', `unknown role "${request.role}"`, {
        details: { field: 'role' },
      });
    }
    const unknown = (request.sites ?? []).filter((s) => !this.#knownSites.has(s));
    if (unknown.length > 0) {
      throw new AuthError('INVALID_TOKEN_REQUEST', `unknown site(s): ${unknown.join(', ')}`, {
        details: { field: 'sites' },
      });
    }
    const id = randomBytes(6).toString('hex');
    const token = `${TOKEN_PREFIX}_${id}_${randomBytes(32).toString('base64url')}`;
    const sites =
      request.sites === undefined || request.sites.length === 0 ? '*' : [...new Set(request.sites)];
    const info: TokenInfo = {
      id,
      role: request.role,
      sites,
      label: request.label ?? '',
      createdAt: this.#now().toISOString(),
      revokedAt: null,
    };
    await this.#db
      .insertInto('tokens')
      .values({
        id,
        token_hash: hashToken(token),
        role: info.role,
        sites: JSON.stringify(sites),
        label: info.label,
        created_at: info.createdAt,
      })
      .execute();
    await this.#audit.append({
      type: 'token.created',
      time: info.createdAt,
      actor,
      tokenId: id,
      role: info.role,
      sites,
    });
    return { ...info, token };
  }

  async list(): Promise<TokenInfo[]> {
    const rows = await this.#db.selectFrom('tokens').selectAll().orderBy('created_at').execute();
    return rows.map(toInfo);
  }

  async revoke(id: string, actor: { role: string; token: string }): Promise<TokenInfo> {
    const time = this.#now().toISOString();
    const row = await this.#db
      .updateTable('tokens')
      .set({ revoked_at: time })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) throw new AuthError('TOKEN_NOT_FOUND', `no active token with id "${id}"`);
    this.#cache.clear();
    await this.#audit.append({ type: 'token.revoked', time, actor, tokenId: id });
    return toInfo(row);
  }

  /**
   * The principal of a token seen recently, from memory, without waiting; `undefined` when it
   * is not cached (then call {@link authenticate}).
   */
  authenticateCached(presented: string | undefined): Principal | undefined {
    if (presented === undefined) return undefined;
    // A revoke by another process bumps the store's version, so the cache outlives it by at
    // most VERSION_CHECK_MS. The check itself is a SQLite call: not one per request.
    const now = Date.now();
    if (now - this.#versionCheckedAt >= VERSION_CHECK_MS) {
      this.#versionCheckedAt = now;
      const version = this.#externalVersion();
      if (version !== this.#cachedAtVersion) {
        this.#cache.clear();
        this.#cachedAtVersion = version;
      }
    }
    return this.#cache.get(presented);
  }

  /** Resolves a presented bearer token; `undefined` for anything unknown, malformed or revoked. */
  async authenticate(presented: string): Promise<Principal | undefined> {
    const cached = this.authenticateCached(presented);
    if (cached !== undefined) return cached;
    const principal = await this.#lookUp(presented);
    if (principal !== undefined) {
      if (this.#cache.size >= MAX_CACHED_TOKENS) this.#cache.clear();
      this.#cache.set(presented, principal);
    }
    return principal;
  }

  async #lookUp(presented: string): Promise<Principal | undefined> {
    const match = TOKEN_PATTERN.exec(presented);
    if (match === null) return undefined;
    const row = await this.#db
      .selectFrom('tokens')
      .selectAll()
      .where('id', '=', match[1]!)
      .executeTakeFirst();
    if (row === undefined || row.revoked_at !== null) return undefined;
    const expected = Buffer.from(row.token_hash, 'hex');
    if (!timingSafeEqual(expected, Buffer.from(hashToken(presented), 'hex'))) return undefined;
    const info = toInfo(row);
    return { tokenId: info.id, role: info.role, sites: info.sites };
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function toInfo(row: {
  id: string;
  role: string;
  sites: string;
  label: string;
  created_at: string;
  revoked_at: string | null;
}): TokenInfo {
  const sites = JSON.parse(row.sites) as string[] | '*';
  return {
    id: row.id,
    role: row.role as Role,
    sites,
    label: row.label,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}
