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
