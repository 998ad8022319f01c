import { Type } from 'typebox';

/** RFC 9457 problem document, as every error is answered. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    instance: Type.Optional(Type.String()),
  },
  { $id: 'Problem', additionalProperties: true },
);

const problemRef = Type.Ref('Problem');

/** The error answers every authenticated route can give, for the OpenAPI document. */
export function errorResponses(...statuses: readonly number[]): Record<number, typeof problemRef> {
  return Object.fromEntries([401, 403, ...statuses].map((status) => [status, problemRef]));
}

export const CountryCode = Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2 code' });

/** A list's cursor to its next page, `null` after the last page. */
export const NextCursor = Type.Union([Type.String(), Type.Null()], {
  description: 'pass as `cursor` to get the next page; null after the last page',
});

/** `limit` and `cursor` of a paged list. */
export function pageQuery(defaultLimit: number, maxLimit: number) {
  return {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: maxLimit, default: defaultLimit })),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'the `next` of the previous page' })),
  };
}
