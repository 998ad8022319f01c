import { GlasshouseError } from './errors.js';

export type CursorErrorCode = 'INVALID_CURSOR';

export class CursorError extends GlasshouseError<CursorErrorCode> {}

/**
 * Keyset paging: a cursor is the sort key of the last item of a page, opaque to clients
 * (base64url JSON), so a page never repeats or skips an item when rows are added meanwhile.
 *
 * @example
 * const cursor = encodeCursor(['2021-07-01', 'a1b2']);
 * decodeCursor(cursor, 2) // ['2021-07-01', 'a1b2']
 */
export function encodeCursor(key: readonly string[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The sort key a cursor carries; a cursor not made by {@link encodeCursor} is a 400. */
export function decodeCursor(cursor: string, length: number): string[] {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  if (!Array.isArray(key) || key.length !== length || !key.every((v) => typeof v === 'string')) {
    throw new CursorError(
      'INVALID_CURSOR',
      'cursor: not a cursor this list gave out; start again without one',
    );
  }
  return key as string[];
}

/**
 * Cuts the `limit + 1` rows a query fetched into a page: the extra row only says that there is
 * a next page, whose cursor is the key of the page's last row.
 */
export function pageOf<Row>(
  rows: readonly Row[],
  limit: number,
  keyOf: (row: Row) => readonly string[],
): { rows: Row[]; next: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { rows: page, next: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
