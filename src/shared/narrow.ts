import type { Kysely } from 'kysely';

/**
 * A view of a database restricted to one domain's tables. Kysely's type is invariant in its
 * table map, so a `Kysely<A & B>` is not a `Kysely<A>` to the compiler, although every query
 * a domain writes against `A` is valid on it. This is the one sanctioned cast; only
 * `main.ts` and node wiring call it, with the node's full table map, and a domain that
 * writes its own tables in a caller's transaction (`InstallationRegistry.moveToSite`).
 */
// biome-ignore lint/suspicious/noExplicitAny: the invariance described above leaves no typed alternative
export function tablesOf<Subset>(db: Kysely<any>): Kysely<Subset> {
  return db as Kysely<Subset>;
}
