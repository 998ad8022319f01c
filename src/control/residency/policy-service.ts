import type { Kysely } from 'kysely';
import type { Actor, AuditSink } from '../../ports/audit-sink.js';
import type { DomainEvents } from '../../shared/domain-events.js';
import type { PolicyVersion, PolicyVersionInput, ResidencyContext, Resolution } from './policy.js';
import { validatePolicyVersion } from './policy.js';
import type { ResidencyTables } from './residency-tables.js';
import { type CompiledPolicy, compilePolicy, resolveSite, versionInForce } from './resolution.js';

export interface PolicyServiceOptions {
  readonly db: Kysely<ResidencyTables>;
  readonly context: ResidencyContext;
  readonly audit: AuditSink;
  readonly now: () => Date;
  /** Told when a version is added (`policy.version_added`), not when the configuration seeds them. */
  readonly events?: DomainEvents;
}

/**
 * The versioned residency policy of the control plane. Versions are only ever appended;
 * the compiled form is cached and rebuilt when another process (the CLI) appends one.
 */
export class PolicyService {
  readonly #o: PolicyServiceOptions;
  #cache: { readonly latest: number; readonly policy: CompiledPolicy } | undefined;

  constructor(options: PolicyServiceOptions) {
    this.#o = options;
  }

  get context(): ResidencyContext {
    return this.#o.context;
  }

  /** Seeds the history from the configuration on first start; later starts keep the stored one. */
  async seed(history: readonly PolicyVersionInput[]): Promise<number> {
    // One transaction: the CLI and the server may both open a new data directory at once.
    return this.#o.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('policy_versions').select('version').limit(1).execute();
      if (existing.length > 0) return 0;
      let previous: PolicyVersion | undefined;
      for (const input of history) {
        const now = new Date(input.effectiveFrom ?? this.#o.now());
        previous = await this.#insert(trx, input, previous === undefined ? { now } : { now, previous });
      }
      return history.length;
    });
  }

  async versions(): Promise<readonly PolicyVersion[]> {
    return (await this.#compiled()).versions;
  }

  async inForce(at: Date = this.#o.now()): Promise<PolicyVersion | undefined> {
    return versionInForce((await this.#compiled()).versions, at);
  }

  /**
   * @example
   * await policy.resolve('SA', new Date('2022-02-01T00:00:00Z')); // { site: 'moscow', ... }
   */
  async resolve(country: string, at: Date = this.#o.now()): Promise<Resolution> {
    return resolveSite(await this.#compiled(), country, at);
  }

  /**
   * Appends a complete mapping, effective now or later; a version in effect is never changed.
   *
   * @example
   * await policy.addVersion({ effectiveFrom: '2026-12-01T00:00:00Z', default: 'moscow', assign }, actor);
   */
  async addVersion(input: PolicyVersionInput, actor: Actor): Promise<PolicyVersion> {
    const now = this.#o.now();
    const added = await this.#o.db.transaction().execute(async (trx) => {
      const latest = (await loadVersions(trx)).at(-1);
      return this.#insert(trx, input, latest === undefined ? { now } : { now, previous: latest });
    });
    this.#cache = undefined;
    await this.#o.audit.append({
      type: 'policy.version.added',
      time: now.toISOString(),
      actor,
      version: added.version,
      effectiveFrom: added.effectiveFrom.toISOString(),
      default: added.default,
      assign: added.assign,
    });
    this.#o.events?.('policy.version_added', {
      version: added.version,
      effectiveFrom: added.effectiveFrom.toISOString(),
      default: added.default,
    });
    return added;
  }

  async #insert(
    db: Kysely<ResidencyTables>,
    input: PolicyVersionInput,
    options: { now: Date; previous?: PolicyVersion },
  ): Promise<PolicyVersion> {
    const valid = validatePolicyVersion(input, this.#o.context, options);
    const version: PolicyVersion = {
      version: (options.previous?.version ?? 0) + 1,
      effectiveFrom: valid.effectiveFrom,
      default: valid.default,
      assign: valid.assign,
      createdAt: this.#o.now(),
    };
    await db
      .insertInto('policy_versions')
      .values({
        version: version.version,
        effective_from: version.effectiveFrom.toISOString(),
        default_site: version.default,
        assign: JSON.stringify(version.assign),
        created_at: version.createdAt.toISOString(),
      })
      .execute();
    return version;
  }

  async #compiled(): Promise<CompiledPolicy> {
    const head = await this.#o.db
      .selectFrom('policy_versions')
      .select((eb) => eb.fn.max('version').as('latest'))
      .executeTakeFirst();
    const latest = Number(head?.latest ?? 0);
    if (this.#cache?.latest !== latest) {
      this.#cache = { latest, policy: compilePolicy(await loadVersions(this.#o.db), this.#o.context) };
    }
    return this.#cache.policy;
  }
}

async function loadVersions(db: Kysely<ResidencyTables>): Promise<PolicyVersion[]> {
  const rows = await db.selectFrom('policy_versions').selectAll().orderBy('version').execute();
  return rows.map((row) => ({
    version: row.version,
    effectiveFrom: new Date(row.effective_from),
    default: row.default_site,
    assign: JSON.parse(row.assign) as PolicyVersion['assign'],
    createdAt: new Date(row.created_at),
  }));
}
