import fc from 'fast-check';

/** The parts of JSON Schema that the routes' schemas use. */
export interface Schema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly items?: Schema;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly anyOf?: readonly Schema[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly maxItems?: number;
}

/** Strings no route can take: not Unicode, NUL, control characters. */
export const HOSTILE_STRINGS: readonly string[] = [
  'Evil\ud800',
  '\udc00',
  'a\ud83d',
  'NUL\u0000byte',
  '\u0000',
  '\u001b[31mred',
  '\u007f',
  '\u0085',
];

/** Path segments and query values an attacker tries (already percent-encoded where needed). */
export const HOSTILE_URL_PARTS: readonly string[] = [
  '%00',
  'a%00b',
  '%c0%ae',
  '%ed%a0%80',
  '%ff',
  '%',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '..',
  '%1b%5b31m',
  '-1',
  '1e309',
  '99999999999999999999',
  'NaN',
  'true',
  '',
  'x'.repeat(300),
  '%F0%9F%98%80',
  '=cmd%7C%22%2Fc%20calc%22!A1',
];

/** A value nested `depth` levels deep. */
export function deeplyNested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i += 1) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

/** Values of the wrong type for any schema, and the famous coercion traps. */
const WRONG_TYPE = fc.constantFrom<unknown>(
  null,
  0,
  1,
  -1,
  1.5,
  '0',
  'false',
  'true',
  '',
  true,
  false,
  [],
  [true],
  {},
  2 ** 53 + 2,
  -(2 ** 31),
  1e308,
);

/**
 * Values that break `schema`: of the wrong type, one past a bound, a string that is not
 * text, a huge or deeply nested value. Never a value the schema admits, so a request carrying
 * one must be refused.
 */
export function invalidFor(schema: Schema): fc.Arbitrary<unknown> {
  const options: fc.Arbitrary<unknown>[] = [
    WRONG_TYPE.filter((v) => !admits(schema, v)),
    fc.constantFrom(...HOSTILE_STRINGS),
    fc.constant(deeplyNested(64)),
  ];
  if (schema.maxLength !== undefined) options.push(fc.constant('a'.repeat(schema.maxLength + 1)));
  if (schema.minLength !== undefined && schema.minLength > 0) options.push(fc.constant(''));
  if (schema.maximum !== undefined) options.push(fc.constant(schema.maximum + 1));
  if (schema.minimum !== undefined) options.push(fc.constant(schema.minimum - 1));
  if (schema.enum !== undefined)
    options.push(fc.constantFrom('unknown-value', String(schema.enum[0]).toUpperCase()));
  if (schema.maxItems !== undefined && schema.items !== undefined) {
    options.push(fc.constant(new Array(schema.maxItems + 1).fill(sampleOf(schema.items))));
  }
  return fc.oneof(...options).filter((v) => !admits(schema, v));
}

/** A value `schema` most likely admits (the base a single invalid member is put into). */
export function plausibleFor(schema: Schema): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum);
  if (schema.anyOf !== undefined) return fc.oneof(...schema.anyOf.map(plausibleFor));
  switch (primaryType(schema)) {
    case 'object':
      return fc.record(
        Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, v]) => [k, plausibleFor(v)])),
        { requiredKeys: [...(schema.required ?? [])] },
      );
    case 'array':
      return fc.array(plausibleFor(schema.items ?? {}), { maxLength: 3 });
    case 'integer':
      return fc.integer({ min: schema.minimum ?? 0, max: schema.maximum ?? 1000 });
    case 'number':
      return fc.double({ min: schema.minimum ?? 0, max: schema.maximum ?? 1000, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return fc.string({
        minLength: schema.minLength ?? 0,
        maxLength: Math.min(schema.maxLength ?? 20, 20),
      });
  }
}

/**
 * A JSON body from `schema` with exactly one thing wrong: the whole body, one member (at any
 * depth of objects), or an extra member.
 */
export function hostileBody(schema: Schema): fc.Arbitrary<unknown> {
  const members = Object.entries(schema.properties ?? {});
  if (primaryType(schema) !== 'object' || members.length === 0) return invalidFor(schema);
  return fc.oneof(
    invalidFor(schema),
    fc
      .tuple(plausibleFor(schema), fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }))
      .filter(([, name]) => !(name in (schema.properties ?? {})) && name !== '__proto__')
      .map(([base, name, value]) => ({ ...(base as object), [name]: value })),
    fc
      .constantFrom(...members)
      .chain(([name, member]) =>
        fc
          .tuple(
            plausibleFor(schema),
            primaryType(member) === 'object' ? hostileBody(member) : invalidFor(member),
          )
          .map(([base, bad]) => ({ ...(base as object), [name]: bad })),
      ),
  );
}

function primaryType(schema: Schema): string | undefined {
  return Array.isArray(schema.type) ? schema.type[0] : (schema.type as string | undefined);
}

function sampleOf(schema: Schema): unknown {
  return fc.sample(plausibleFor(schema), { numRuns: 1, seed: 1 })[0];
}

/** A shallow check of whether `schema` admits `value` (enough to keep invalid values invalid). */
function admits(schema: Schema, value: unknown): boolean {
  if (schema.anyOf !== undefined) return schema.anyOf.some((s) => admits(s, value));
  if (schema.enum !== undefined) return schema.enum.includes(value);
  if (schema.const !== undefined) return schema.const === value;
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.length === 0) return true;
  return types.some((type) => {
    switch (type) {
      case 'string':
        return (
          typeof value === 'string' &&
          value.length <= (schema.maxLength ?? Number.POSITIVE_INFINITY) &&
          value.length >= (schema.minLength ?? 0) &&
          !HOSTILE_STRINGS.includes(value)
        );
      case 'integer':
      case 'number':
        return (
          typeof value === 'number' &&
          (type === 'number' || Number.isInteger(value)) &&
          value <= (schema.maximum ?? Number.POSITIVE_INFINITY) &&
          value >= (schema.minimum ?? Number.NEGATIVE_INFINITY)
        );
      case 'boolean':
        return typeof value === 'boolean';
      case 'null':
        return value === null;
      case 'array':
        return Array.isArray(value) && value.length <= (schema.maxItems ?? Number.POSITIVE_INFINITY);
      case 'object':
        return value !== null && typeof value === 'object' && !Array.isArray(value);
      default:
        return true;
    }
  });
}
