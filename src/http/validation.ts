import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyServerOptions } from 'fastify';
import type { FastifySchemaValidationError } from 'fastify/types/schema.js';

/** What every compiled schema shares (Fastify's defaults, bar those we chose otherwise). */
const COMMON: Options = {
  useDefaults: true,
  removeAdditional: false,
  // allErrors would let one request make Ajv walk every member of a huge body (DoS).
  allErrors: false,
  addUsedSchema: false,
};

type HttpPart = 'body' | 'querystring' | 'params' | 'headers';
type Validate = (data: unknown) => boolean | { error?: FastifySchemaValidationError[] };

type ValidatorFactory = NonNullable<
  NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']
>;

/**
 * Fastify's schema compiler, in two minds. Query strings, path parameters and headers arrive
 * as text, so their schemas convert deliberately (`?limit=10` is the integer 10). A JSON body
 * already says what type each value is: coercing it would guess a meaning the client never
 * sent (`{"dryRun": 0}` or `"false"` read as `false` starts a real relocation), so bodies are
 * validated exactly as sent.
 *
 * @example
 * Fastify({ schemaController: { compilersFactory: { buildValidator: buildStrictBodyValidator } } });
 */
function strictBodyValidator(externalSchemas: Readonly<Record<string, unknown>>) {
  const strict = newAjv({ ...COMMON, coerceTypes: false }, externalSchemas);
  const coercing = newAjv({ ...COMMON, coerceTypes: 'array' }, externalSchemas);
  return ({ schema, httpPart }: { schema: object; httpPart?: string }): Validate => {
    const ajv = (httpPart as HttpPart | undefined) === 'body' ? strict : coercing;
    const id = (schema as { $id?: string }).$id;
    const known = id === undefined ? undefined : ajv.getSchema(id);
    return (known ?? ajv.compile(schema)) as Validate;
  };
}

// Fastify's types describe Ajv's `compile(schema)`; Fastify calls the compiler with the route's part.
export const buildStrictBodyValidator = strictBodyValidator as unknown as ValidatorFactory;

function newAjv(options: Options, externalSchemas: Readonly<Record<string, unknown>>): Ajv {
  const ajv = new Ajv(options);
  addFormats.default(ajv);
  for (const schema of Object.values(externalSchemas)) ajv.addSchema(schema as object);
  return ajv;
}
