import { createHmac, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { AuthError } from './auth-errors.js';
import type { AuthTables } from './auth-tables.js';

/** The person behind a token, as requests carry it. */
export interface Person {
  /** The name as first given, for `token list` and the case files of the control plane. */
  readonly name: string;
  /**
   * What the public log shows instead of the name, and what four eyes compares:
   * HMAC-SHA-256(salt, "person\n" || key) in hex, one salt per person, kept in the control
   * plane. Stable across the person's tokens, so anyone reading the log sees that two steps
   * were taken by two people, and nobody without the salt learns who they are.
   */
  readonly commitment: string;
}

const MAX_NAME_LENGTH = 200;
// Letters, marks, digits, punctuation, symbols and spaces: no control or format characters.
const NAME_PATTERN = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]+$/u;

/**
 * A name as stored: NFKC (so look-alike compositions are one name), trimmed, runs of white
 * space as one space. Its case-folded form is the person's key: "Ada Lovelace" and
 * "ada lovelace" are one person, which errs on the side of four eyes.
 */
export function normalizePersonName(text: string): { name: string; key: string } {
  const name = text.normalize('NFKC').trim().replace(/\s+/gu, ' ');
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) {
    throw new AuthError(
      'INVALID_TOKEN_REQUEST',
      `a person is named by 1 to ${MAX_NAME_LENGTH} printable characters`,
      { details: { field: 'person' } },
    );
  }
  return { name, key: name.toLowerCase() };
}

export function personCommitment(salt: string, key: string): string {
  return createHmac('sha256', Buffer.from(salt, 'hex')).update(`person\n${key}`).digest('hex');
}

/**
 * The person's row, created on first use (a random salt). Call inside the transaction that
 * creates the token.
 */
export async function ensurePerson(
  db: Kysely<AuthTables>,
  given: { name: string; key: string },
  now: string,
): Promise<Person> {
  await db
    .insertInto('people')
    .values({ key: given.key, name: given.name, salt: randomBytes(32).toString('hex'), created_at: now })
    .onConflict((c) => c.column('key').doNothing())
    .execute();
  const row = await db
    .selectFrom('people')
    .selectAll()
    .where('key', '=', given.key)
    .executeTakeFirstOrThrow();
  return { name: row.name, commitment: personCommitment(row.salt, row.key) };
}
