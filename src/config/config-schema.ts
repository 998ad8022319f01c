import { type Static, Type } from 'typebox';

const CountryCode = Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2 code' });
const SiteName = Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$', description: 'lower-case site name' });
/** An embedded engine's name or an engine's URL: see src/config/storage-locations.ts. */
const StorageValue = Type.String({ minLength: 1, maxLength: 2048 });

/** The control plane's stores. */
export const ControlStorageSchema = Type.Object(
  { metadata: Type.Optional(StorageValue), tiles: Type.Optional(StorageValue) },
  { additionalProperties: false },
);

/** A site's stores. */
export const SiteStorageSchema = Type.Object(
  {
    metadata: Type.Optional(StorageValue),
    blobs: Type.Optional(StorageValue),
    tiles: Type.Optional(StorageValue),
    stats: Type.Optional(StorageValue),
  },
  { additionalProperties: false },
);

export const SiteConfigSchema = Type.Object(
  {
    jurisdiction: CountryCode,
    description: Type.Optional(Type.String()),
    /** Where `glasshouse control` reaches the site (its `glasshouse site` API); `up` ignores it. */
    url: Type.Optional(Type.String({ pattern: '^https://[^\\s/?#]+/?$', description: 'https://host:port' })),
    storage: Type.Optional(SiteStorageSchema),
  },
  { additionalProperties: false },
);

export const AssignmentSchema = Type.Object(
  {
    regions: Type.Optional(Type.Array(Type.String())),
    countries: Type.Optional(Type.Array(Type.String())),
    site: Type.String(),
  },
  { additionalProperties: false },
);

export const PolicyVersionSchema = Type.Object(
  {
    effectiveFrom: Type.Optional(Type.String({ format: 'date-time' })),
    default: Type.String(),
    assign: Type.Array(AssignmentSchema),
  },
  { additionalProperties: false },
);

/** At most `max` requests in `windowMs`; `max: 0` turns the limit off. */
export const RateLimitSchema = Type.Object(
  {
    max: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
    windowMs: Type.Integer({ minimum: 1000, maximum: 2_592_000_000 }),
  },
  { additionalProperties: false },
);

/** The YAML configuration file, as written by `glasshouse init` and edited by operators. */
export const ConfigFileSchema = Type.Object(
  {
    deployment: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }),
    server: Type.Optional(
      Type.Object(
        {
          host: Type.Optional(Type.String({ minLength: 1 })),
          port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
          trustProxy: Type.Optional(
            Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 256 }),
          ),
          maxConnectionsPerAddress: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
          headersTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
          requestTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 86_400_000 })),
          keepAliveTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
          minBodyBytesPerSecond: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_073_741_824 })),
          bodyGraceMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
        },
        { additionalProperties: false },
      ),
    ),
    limits: Type.Optional(
      Type.Object(
        { maxSampleBytes: Type.Optional(Type.Integer({ minimum: 1 })) },
        { additionalProperties: false },
      ),
    ),
    samples: Type.Optional(
      Type.Object({ fingerprints: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    ),
    ledger: Type.Optional(
      Type.Object(
        {
          checkpointIntervalMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 3_600_000 })),
          witnessTimeoutMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 60_000 })),
          witnesses: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  name: Type.String({ minLength: 1 }),
                  key: Type.String({ minLength: 1 }),
                  url: Type.String({ minLength: 1 }),
                },
                { additionalProperties: false },
              ),
              { maxItems: 32 },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    rateLimits: Type.Optional(
      Type.Object(
        {
          perAddress: Type.Optional(RateLimitSchema),
          perToken: Type.Optional(RateLimitSchema),
          failedAuthPerAddress: Type.Optional(RateLimitSchema),
          registrationsPerAddress: Type.Optional(RateLimitSchema),
          registrationsPerToken: Type.Optional(RateLimitSchema),
        },
        { additionalProperties: false },
      ),
    ),
    lookup: Type.Optional(
      Type.Object(
        {
          maxBatch: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
          maxImportBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1_099_511_627_776 })),
        },
        { additionalProperties: false },
      ),
    ),
    stats: Type.Optional(
      Type.Object(
        {
          minGroupSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
          retentionDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 36_500 })),
          maxBatchLines: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
          maxLineBytes: Type.Optional(Type.Integer({ minimum: 64, maximum: 1_048_576 })),
          maxBatchBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1_073_741_824 })),
          flushIntervalMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 3_600_000 })),
          memoryLimitMb: Type.Optional(Type.Integer({ minimum: 64, maximum: 1_048_576 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** The control plane's stores; each site's are under `sites.<name>.storage`. */
    storage: Type.Optional(ControlStorageSchema),
    sites: Type.Record(SiteName, SiteConfigSchema, { minProperties: 1 }),
    regions: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()))),
    policy: Type.Array(PolicyVersionSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export type ConfigFile = Static<typeof ConfigFileSchema>;
