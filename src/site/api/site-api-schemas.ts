import { Type } from 'typebox';
import { MAX_RULES_LENGTH } from '../../shared/yara-rules.js';

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
  size: Type.Optional(Type.Integer({ minimum: 1 })),
});

/** A fingerprint as the source site computed it (see `SampleFingerprint`), checked before it is stored. */
export const SampleFingerprintSchema = Type.Object(
  {
    ssdeep: Type.String({ pattern: '^[1-9][0-9]{0,9}:[A-Za-z0-9+/]{0,64}:[A-Za-z0-9+/]{0,64}$' }),
    tlsh: Type.Union([Type.String({ pattern: '^T1[0-9A-F]{70}$' }), Type.Null()]),
    fileType: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$',
    }),
  },
  { additionalProperties: false },
);

export const RelocatableSampleSchema = Type.Object({
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  sha1: Type.String(),
  md5: Type.String(),
  sha512: Type.String(),
  size: Type.Integer({ minimum: 0 }),
  firstSeen: Type.String(),
  lastSeen: Type.String(),
  fingerprint: Type.Optional(SampleFingerprintSchema),
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

export const ScanSamplesBody = Type.Object({
  rules: Type.String({ minLength: 1, maxLength: MAX_RULES_LENGTH }),
  after: Type.Integer({ minimum: 0 }),
  limit: Type.Integer({ minimum: 1, maximum: 10_000 }),
});

export const TagParams = Type.Object({
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  tag: Type.String({ minLength: 1, maxLength: 256 }),
});

export const CommentParams = Type.Object({
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  id: Type.String({ minLength: 1, maxLength: 64 }),
});

export const CommentBody = Type.Object({
  text: Type.String({ maxLength: 65_536 }),
  createdAt: IsoDate,
  author: Type.Object({ role: Type.String({ maxLength: 64 }), token: Type.String({ maxLength: 128 }) }),
  actor: ActorSchema,
});

export const CommentsQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 1000 }),
  afterCreatedAt: Type.Optional(Type.String({ maxLength: 64 })),
  afterId: Type.Optional(Type.String({ maxLength: 64 })),
});

export const SimilarBody = Type.Object({
  tlsh: Type.String({ maxLength: 128 }),
  ssdeep: Type.Optional(Type.String({ maxLength: 256 })),
  exclude: Type.Optional(Type.String({ maxLength: 64 })),
  maxDistance: Type.Integer({ minimum: 0, maximum: 100_000 }),
  limit: Type.Integer({ minimum: 1, maximum: 10_000 }),
});

export const SearchBody = Type.Object({
  type: Type.Optional(Type.String({ maxLength: 256 })),
  minSize: Type.Optional(Type.Integer({ minimum: 0 })),
  maxSize: Type.Optional(Type.Integer({ minimum: 0 })),
  firstSeenFrom: Type.Optional(Type.String({ maxLength: 64 })),
  firstSeenTo: Type.Optional(Type.String({ maxLength: 64 })),
  tag: Type.Optional(Type.String({ maxLength: 256 })),
  limit: Type.Integer({ minimum: 1, maximum: 10_000 }),
  before: Type.Optional(
    Type.Object({
      firstSeen: Type.String({ maxLength: 64 }),
      sha256: Type.String({ maxLength: 64 }),
      inclusive: Type.Boolean(),
    }),
  ),
  count: Type.Optional(Type.Boolean()),
});
