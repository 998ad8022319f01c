import { Type } from 'typebox';
import { VERDICT_NAMES } from './verdict.js';

/** `string | null` as one JSON-schema type, which fast-json-stringify writes without trying branches. */
const NullableString = Type.Unsafe<string | null>({ type: ['string', 'null'] });

export const HashParam = Type.Object({
  hash: Type.String({ description: 'MD5, SHA-1 or SHA-256 in hex', maxLength: 256 }),
});

export const VerdictKind = Type.Union(
  VERDICT_NAMES.map((name) => Type.Literal(name)),
  { description: 'malicious, suspicious or clean' },
);

export const LookupAnswerView = Type.Object({
  hash: Type.String(),
  verdict: Type.String({ description: 'malicious, suspicious, clean or unknown' }),
  threat: NullableString,
  firstSeen: NullableString,
});

/** One item of a batch answer: a look-up answer, or `error` and `detail` for a malformed hash. */
export const BatchItemView = Type.Object({
  hash: Type.String(),
  verdict: Type.Optional(Type.String()),
  threat: Type.Optional(NullableString),
  firstSeen: Type.Optional(NullableString),
  error: Type.Optional(Type.String()),
  detail: Type.Optional(Type.String()),
});
