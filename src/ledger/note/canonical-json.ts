import canonicalize from 'canonicalize';
import { NoteError } from './note-errors.js';

const LONE_SURROGATE = /\p{Cs}/u;

/** The values RFC 8785 can canonicalize: the I-JSON data model (RFC 7493). */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [name: string]: JsonValue | undefined };

/**
 * Serializes `value` per the JSON Canonicalization Scheme (RFC 8785): members sorted by the
 * UTF-16 code units of their names (§3.2.3), numbers as ECMAScript prints them (§3.2.2.3),
 * minimal string escapes (§3.2.2.2), no whitespace. Encode the result as UTF-8 (§3.2.4)
 * before hashing or signing it.
 *
 * The serializer is `canonicalize`, by an RFC 8785 co-author. It takes whatever
 * `JSON.stringify` takes and would print `undefined` for a function member, so the value is
 * first checked to be plain JSON: null, booleans, finite numbers, well-formed strings,
 * arrays without holes and plain objects, without cycles. Members whose value is
 * `undefined` are left out, as `JSON.stringify` does.
 *
 * @example
 * canonicalJson({ b: [1e30, 4.5], a: 'x' }); // '{"a":"x","b":[1e+30,4.5]}'
 */
export function canonicalJson(value: unknown): string {
  assertJson(value, '$', new Set());
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (cause) {
    throw new NoteError('UNREPRESENTABLE_JSON', 'the value cannot be canonicalized', { cause });
  }
  if (text === undefined) throw new NoteError('UNREPRESENTABLE_JSON', 'the value has no JSON form');
  return text;
}

function assertJson(value: unknown, path: string, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'boolean':
      return;
    case 'string':
      // RFC 8785 §3.2.2.2: lone surrogates have no UTF-8 form.
      if (LONE_SURROGATE.test(value)) reject(path, 'holds a lone surrogate');
      return;
    case 'number':
      // RFC 8785 §3.2.2.3: NaN and Infinity are not JSON numbers.
      if (!Number.isFinite(value)) reject(path, 'is not a finite number');
      return;
    case 'object':
      if (value === null) return;
      if (ancestors.has(value)) reject(path, 'is a cycle');
      ancestors.add(value);
      if (Array.isArray(value)) assertJsonArray(value, path, ancestors);
      else assertJsonObject(value, path, ancestors);
      ancestors.delete(value);
      return;
    default:
      reject(path, `is ${value === undefined ? 'undefined' : `a ${typeof value}`}`);
  }
}

function assertJsonArray(array: readonly unknown[], path: string, ancestors: Set<object>): void {
  for (let i = 0; i < array.length; i++) {
    if (array[i] === undefined) reject(`${path}[${i}]`, 'is undefined or a hole');
    assertJson(array[i], `${path}[${i}]`, ancestors);
  }
}

function assertJsonObject(object: object, path: string, ancestors: Set<object>): void {
  const prototype = Object.getPrototypeOf(object);
  if (prototype !== Object.prototype && prototype !== null) reject(path, 'is not a plain object');
  for (const [name, member] of Object.entries(object)) {
    if (LONE_SURROGATE.test(name)) reject(path, 'has a member name with a lone surrogate');
    if (member !== undefined) assertJson(member, `${path}.${name}`, ancestors);
  }
}

function reject(path: string, problem: string): never {
  throw new NoteError('UNREPRESENTABLE_JSON', `${path} ${problem}`, { details: { path } });
}
