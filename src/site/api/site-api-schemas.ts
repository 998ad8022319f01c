import { Type } from 'typebox';

/** Request shapes of the internal site API; answers are the port's own types as JSON. */

export const ActorSchema = Type.Object({
  role: Type.String({ maxLength: 64 }),
  token: Type.String({ maxLength: 128 }),
  person: Type.Optional(Type.String({ maxLength: 256 })),
});

export const ActorBody = Type.Object({ actor: ActorSchema });

export const InstallationParams = Type.Object({
  installationId: Type.String({ minLength: 1, maxLength: 128 }),
});

export const Sha256Params = Type.Object({ sha256: Type.String({ pattern: '^[0-9a-fA-F]{64}$' }) });

const IsoDate = Type.String({ format: 'date-time' });

export const RangeQuery = Type.Object({ from: Type.Optional(IsoDate), to: Type.Optional(IsoDate) });

export const FindQuery = Type.Object({
  kind: Type.Union([
    Type.Literal('md5'),
    Type.Literal('sha1'),
    Type.Literal('sha256'),
    Type.Literal('sha512'),
  ]),
  value: Type.String({ pattern: '^[0-9a-f]+$', maxLength: 128 }),
});

export const AggregationBody = Type.Object({
  groupBy: Type.Array(
    Type.Union([
      Type.Literal('day'),
      Type.Literal('country'),
      Type.Literal('threat'),
      Type.Literal('verdict'),
      Type.Literal('type'),
    ]),
  ),
  from: Type.Optional(IsoDate),
  to: Type.Optional(IsoDate),
  types: Type.Optional(Type.Array(Type.String())),
  country: Type.Optional(Type.String()),
  withThreat: Type.Optional(Type.Boolean()),
});

export const CommitBody = Type.Object({ field: Type.String(), value: Type.String() });

export const SubmissionHeader = Type.Object({
  installationId: Type.String({ minLength: 1, maxLength: 128 }),
  filename: Type.String(),
  product: Type.String(),
});

export const RelocatableSampleSchema = Type.Object({
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  sha1: Type.String(),
  md5: Type.String(),
  sha512: Type.String(),
  size: Type.Integer({ minimum: 0 }),
  firstSeen: Type.String(),
  lastSeen: Type.String(),
});

export const ImportFromPeerBody = Type.Object({
  record: RelocatableSampleSchema,
  source: Type.Object({
    name: Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }),
    url: Type.String({ pattern: '^https://', maxLength: 2048 }),
  }),
});

export const ImportInstallationBody = Type.Object({
  records: Type.Object({
    installationId: Type.String({ minLength: 1, maxLength: 128 }),
    submissions: Type.Array(
      Type.Object({
        sha256: Type.String(),
        submittedAt: Type.String(),
        product: Type.String(),
        filename: Type.String(),
      }),
    ),
    events: Type.Array(Type.String()),
  }),
  replace: Type.Object({ submissions: Type.Boolean(), events: Type.Boolean() }),
});

export const PurgeBody = Type.Object({ installationIds: Type.Array(Type.String({ maxLength: 128 })) });

export const RelocationBody = Type.Object({
  entry: Type.Object({
    kind: Type.Union([Type.Literal('sent'), Type.Literal('received')]),
    relocation: Type.String(),
    batch: Type.Integer(),
    source: Type.String(),
    target: Type.String(),
    installationIds: Type.Array(Type.String()),
    installations: Type.Integer(),
    submissions: Type.Integer(),
    samples: Type.Integer(),
    bytes: Type.Integer(),
    events: Type.Integer(),
  }),
  actor: ActorSchema,
});
