import { createHmac, hkdfSync } from 'node:crypto';
import type { Kysely } from 'kysely';
import { masterKeyId } from '../../config/master-key-files.js';
import { generateKey, unwrapKey, wrapKey } from '../vault/crypto/index.js';
import { SubjectError } from './subject-errors.js';
import type { SubjectTables } from './subject-tables.js';

/** HKDF info of the log-commitment salt: a key used for one purpose only. */
const COMMITMENT_INFO = 'glasshouse/log-commitment/v1';

export interface SubjectKeysOptions {
  readonly site: string;
  readonly db: Kysely<SubjectTables>;
  readonly masterKey: Buffer;
  readonly now: () => Date;
}

/**
 * The per-installation keys of one site. A site holds a key only for the installations
 * assigned to it, which makes "nothing reaches a site the installation is not assigned to"
 * a check the site itself enforces, not only the control plane.
 */
export class SubjectKeys {
  readonly #options: SubjectKeysOptions;

  constructor(options: SubjectKeysOptions) {
    this.#options = options;
  }

  /** Creates the installation's key at this site if it has none (idempotent). */
  async admit(installationId: string): Promise<void> {
    await this.#options.db
      .insertInto('subject_keys')
      .values({
        installation_id: installationId,
        wrapped_key: wrapKey(this.#options.masterKey, generateKey()),
        key_id: masterKeyId(this.#options.masterKey),
        created_at: this.#options.now().toISOString(),
      })
      .onConflict((c) => c.column('installation_id').doNothing())
      .execute();
  }

  /**
   * A commitment to a personal value for the log: HMAC-SHA-256 under a salt derived from the
   * installation's key. The installation can later prove what it commits to; once erasure
   * destroys the key, nobody can link the entry to the value any more.
   *
   * @example
   * await subjects.commit(installationId, 'installation', installationId); // '3f9a…' (hex)
   */
  async commit(installationId: string, field: string, value: string): Promise<string> {
    const salt = Buffer.from(
      hkdfSync('sha256', await this.keyOf(installationId), Buffer.alloc(0), COMMITMENT_INFO, 32),
    );
    return createHmac('sha256', salt).update(`${field}\n${value}`).digest('hex');
  }

  /** Whether the installation has a key here, read through `db` (a transaction of the caller's). */
  static async isAdmitted(db: Kysely<SubjectTables>, installationId: string): Promise<boolean> {
    const row = await db
      .selectFrom('subject_keys')
      .select('installation_id')
      .where('installation_id', '=', installationId)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Whether the site holds the installation's key. */
  has(installationId: string): Promise<boolean> {
    return SubjectKeys.isAdmitted(this.#options.db, installationId);
  }

  /** The installations whose key the site holds (for the residency audit). */
  async installationIds(): Promise<string[]> {
    const rows = await this.#options.db.selectFrom('subject_keys').select('installation_id').execute();
    return rows.map((r) => r.installation_id);
  }

  /** When the installation's key was created here; `undefined` when the site has none. */
  async admittedAt(installationId: string): Promise<string | undefined> {
    const row = await this.#options.db
      .selectFrom('subject_keys')
      .select('created_at')
      .where('installation_id', '=', installationId)
      .executeTakeFirst();
    return row?.created_at;
  }

  /** Destroys the installation's key (crypto-shredding); true when there was one. */
  async destroy(installationId: string): Promise<boolean> {
    const result = await this.#options.db
      .deleteFrom('subject_keys')
      .where('installation_id', '=', installationId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /**
   * Destroys the keys of the installations (a purge, after their records are gone);
   * idempotent. Durable only once the site's store syncs.
   */
  async destroyAll(installationIds: readonly string[]): Promise<void> {
    // SQLite binds at most 32,766 parameters; stay far below.
    for (let i = 0; i < installationIds.length; i += 500) {
      await this.#options.db
        .deleteFrom('subject_keys')
        .where('installation_id', 'in', installationIds.slice(i, i + 500))
        .execute();
    }
  }

  /**
   * Marks the keys from before key ids as under the current master key (the only one the
   * site had then). Idempotent; run when the site opens.
   */
  async recordKeyIds(): Promise<void> {
    await this.#options.db
      .updateTable('subject_keys')
      .set({ key_id: masterKeyId(this.#options.masterKey) })
      .where('key_id', 'is', null)
      .execute();
  }

  async keyOf(installationId: string): Promise<Buffer> {
    const row = await this.#options.db
      .selectFrom('subject_keys')
      .select('wrapped_key')
      .where('installation_id', '=', installationId)
      .executeTakeFirst();
    if (row === undefined) {
      throw new SubjectError(
        'SUBJECT_NOT_AT_SITE',
        `installation is not assigned to site ${this.#options.site}`,
      );
    }
    return unwrapKey(this.#options.masterKey, row.wrapped_key);
  }
}
