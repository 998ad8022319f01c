/**
 * Where one node (the control plane or a site) keeps each of its stores. The embedded
 * engines are the default and live in the node's data directory; an engine of the
 * operator's own is named by a URL in `config.yaml` (`storage:` for the control plane,
 * `sites.<name>.storage:` for a site). Credentials never come from the file: each client
 * reads them from the environment it always reads (`PG*`, `AWS_*`, `CLICKHOUSE_*`).
 */
export type MetadataLocation = { readonly engine: 'sqlite' } | EngineLocation<'postgres'>;
export type ObjectLocation = { readonly engine: 'fs' } | EngineLocation<'s3'>;
export type StatsLocation = { readonly engine: 'duckdb' } | EngineLocation<'clickhouse'>;

/** An engine of the operator's own, and the config key that names it (for its errors). */
export interface EngineLocation<Engine extends string> {
  readonly engine: Engine;
  readonly url: string;
  /** `storage.metadata`, `sites.zurich.storage.blobs`, … */
  readonly key: string;
}

export interface ControlStorage {
  readonly metadata: MetadataLocation;
  readonly tiles: ObjectLocation;
}

export interface SiteStorage extends ControlStorage {
  readonly blobs: ObjectLocation;
  readonly stats: StatsLocation;
}

export const EMBEDDED_CONTROL_STORAGE: ControlStorage = Object.freeze({
  metadata: Object.freeze({ engine: 'sqlite' }),
  tiles: Object.freeze({ engine: 'fs' }),
});

export const EMBEDDED_SITE_STORAGE: SiteStorage = Object.freeze({
  ...EMBEDDED_CONTROL_STORAGE,
  blobs: Object.freeze({ engine: 'fs' }),
  stats: Object.freeze({ engine: 'duckdb' }),
});

/** What one storage key accepts: the embedded engine's name, or URLs of these schemes. */
const KINDS = {
  metadata: { embedded: 'sqlite', engine: 'postgres', schemes: ['postgres:', 'postgresql:'] },
  tiles: { embedded: 'fs', engine: 's3', schemes: ['s3:'] },
  blobs: { embedded: 'fs', engine: 's3', schemes: ['s3:'] },
  stats: { embedded: 'duckdb', engine: 'clickhouse', schemes: ['clickhouse:'] },
} as const;

export type StorageKey = keyof typeof KINDS;

/** The environment variable that carries the password of each engine's client. */
const PASSWORD_VARIABLE = {
  postgres: 'PGPASSWORD',
  s3: 'AWS_SECRET_ACCESS_KEY',
  clickhouse: 'CLICKHOUSE_PASSWORD',
} as const;

/**
 * Reads one storage key's value (`at` is the block it is in, for the location's `key`);
 * returns the problem as text (for the config loader to report under the key) or the location.
 *
 * @example
 * parseStorageLocation('sites.zurich.storage', 'metadata', 'postgres://glasshouse@db.zurich.internal/glasshouse');
 * // { engine: 'postgres', url: 'postgres://glasshouse@db.zurich.internal/glasshouse', key: 'sites.zurich.storage.metadata' }
 */
export function parseStorageLocation(
  at: string,
  key: StorageKey,
  value: string | undefined,
): { readonly location: MetadataLocation | ObjectLocation | StatsLocation } | { readonly problem: string } {
  const kind = KINDS[key];
  if (value === undefined || value === kind.embedded) return { location: { engine: kind.embedded } };
  const expected = `"${kind.embedded}" or a ${kind.schemes.map((s) => `${s}//`).join(' or ')} URL`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problem: `"${value}" is neither ${expected}` };
  }
  if (!(kind.schemes as readonly string[]).includes(url.protocol)) {
    return { problem: `${url.protocol}// is not a ${key} engine here; expected ${expected}` };
  }
  if (url.password !== '') {
    return {
      problem: `holds a password; give it in ${PASSWORD_VARIABLE[kind.engine]} instead, never in the config file`,
    };
  }
  if (url.hostname === '') return { problem: `"${value}" names no host` };
  return { location: { engine: kind.engine, url: value, key: `${at}.${key}` } };
}
