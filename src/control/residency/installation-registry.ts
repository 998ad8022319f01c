import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { SiteClient } from '../../ports/site-client.js';
import { tablesOf } from '../../shared/narrow.js';
import { actorOf, type Principal } from '../auth/roles.js';
import { assertSiteAccess } from '../auth/site-scope.js';
import type { PolicyService } from './policy-service.js';
import { RegistryError } from './registry-errors.js';
import type { ResidencyTables } from './residency-tables.js';

export interface Installation {
  readonly id: string;
  readonly country: string;
  readonly product: string;
  readonly site: string;
  readonly policyVersion: number;
  readonly registeredAt: string;
}

export interface InstallationRegistryOptions {
  readonly db: Kysely<ResidencyTables>;
  readonly policy: PolicyService;
  readonly sites: ReadonlyMap<string, SiteClient>;
  readonly now: () => Date;
}

/** Installation → country → site: the control plane's only link between a user and a site. */
export class InstallationRegistry {
  readonly #o: InstallationRegistryOptions;

  constructor(options: InstallationRegistryOptions) {
    this.#o = options;
  }

  /**
   * Registers an installation at the site the policy in force assigns to its country. The
   * secret is returned once and kept only as a hash.
   *
   * @example
   * const { id, secret, site } = await registry.register({ country: 'BR', product: 'endpoint-12' }, principal);
   */
  async register(
    request: { country: string; product: string },
    principal: Principal,
  ): Promise<Installation & { secret: string }> {
    const now = this.#o.now();
    const resolution = await this.#o.policy.resolve(request.country, now);
    assertSiteAccess(principal, resolution.site);
    const site = this.#o.sites.get(resolution.site);
    if (site === undefined) {
      throw new RegistryError(
        'SITE_NOT_RUNNING',
        `the policy names site ${resolution.site}, which is not running`,
      );
    }
    const id = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    // The site's key first: a crash before the registry row leaves an unused key, never an
    // installation that cannot store anything.
    await site.admitInstallation(id, actorOf(principal));
    const installation: Installation = {
      id,
      country: request.country,
      product: request.product,
      site: resolution.site,
      policyVersion: resolution.version,
      registeredAt: now.toISOString(),
    };
    await this.#o.db
      .insertInto('installations')
      .values({
        id,
        secret_hash: hashSecret(secret),
        country: installation.country,
        product: installation.product,
        site: installation.site,
        policy_version: installation.policyVersion,
        registered_at: installation.registeredAt,
      })
      .execute();
    return { ...installation, secret };
  }

  async get(id: string): Promise<Installation> {
    const row = await this.#o.db
      .selectFrom('installations')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (row === undefined) throw new RegistryError('INSTALLATION_NOT_FOUND', 'no installation with that id');
    return {
      id: row.id,
      country: row.country,
      product: row.product,
      site: row.site,
      policyVersion: row.policy_version,
      registeredAt: row.registered_at,
    };
  }

  /**
   * Where each of the given installations lives (country and site); unknown ids are absent.
   *
   * @example
   * const located = await registry.locate(['3f9a…']); // Map { '3f9a…' => { country: 'BR', site: 'zurich' } }
   */
  async locate(ids: readonly string[]): Promise<Map<string, { country: string; site: string }>> {
    const located = new Map<string, { country: string; site: string }>();
    // SQLite binds at most 32,766 parameters; stay far below.
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.#o.db
        .selectFrom('installations')
        .select(['id', 'country', 'site'])
        .where('id', 'in', ids.slice(i, i + 500))
        .execute();
      for (const row of rows) located.set(row.id, { country: row.country, site: row.site });
    }
    return located;
  }

  /**
   * Whether `secret` is the installation's secret. Unknown ids take the same path (a compare
   * against a random hash), so the answer and its timing say nothing about which ids exist.
   *
   * @example
   * if (!(await registry.verifySecret(id, secret))) throw new AuthError('UNAUTHENTICATED', '…');
   */
  async verifySecret(id: string, secret: string): Promise<boolean> {
    const row = await this.#o.db
      .selectFrom('installations')
      .select('secret_hash')
      .where('id', '=', id)
      .executeTakeFirst();
    const expected = Buffer.from(row?.secret_hash ?? UNKNOWN_SECRET_HASH, 'hex');
    const given = Buffer.from(hashSecret(secret), 'hex');
    return timingSafeEqual(expected, given) && row !== undefined;
  }

  /**
   * Moves the installations still at `from` to `to` (relocation's switch point); those
   * elsewhere are left alone. Given `trx`, a transaction over a database that holds the
   * registry's tables, the move commits or rolls back with the caller's own writes (the
   * relocation journal), while the registry alone writes its table.
   *
   * @example
   * await control.transaction().execute(async (trx) => {
   *   await registry.moveToSite(ids, 'moscow', 'zurich', trx);
   *   await journalSwitched(trx, ids);
   * });
   */
  async moveToSite<Tables extends ResidencyTables>(
    ids: readonly string[],
    from: string,
    to: string,
    trx?: Transaction<Tables>,
  ): Promise<void> {
    const db = trx === undefined ? this.#o.db : tablesOf<ResidencyTables>(trx);
    for (let i = 0; i < ids.length; i += 500) {
      await db
        .updateTable('installations')
        .set({ site: to })
        .where('id', 'in', ids.slice(i, i + 500))
        .where('site', '=', from)
        .execute();
    }
  }

  /** Every installation's country and site, by id (for relocation's plan and the residency audit). */
  async placements(): Promise<{ id: string; country: string; site: string }[]> {
    return this.#o.db.selectFrom('installations').select(['id', 'country', 'site']).orderBy('id').execute();
  }

  /** Removes the installation (its id and secret hash) from the registry; for erasure. */
  async remove(id: string): Promise<boolean> {
    const result = await this.#o.db.deleteFrom('installations').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async countBySite(): Promise<Record<string, number>> {
    const rows = await this.#o.db
      .selectFrom('installations')
      .select(['site', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('site')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.site, Number(r.n)]));
  }
}

/** Compared against for unknown ids; no secret hashes to it (it is not a SHA-256 of anything known). */
const UNKNOWN_SECRET_HASH = randomBytes(32).toString('hex');

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
