/** Earlier loads of one history file, oldest first, as the desks record them. */
export interface EarlierImport {
  readonly rows: number;
  readonly importedAt: string;
}

/**
 * What a desk answers when a history file comes again: which file, how often and when it was
 * loaded, and how to load it once more on purpose. Both desks refuse the same way.
 */
export function alreadyImportedProblem(
  sha256: string,
  earlier: readonly EarlierImport[],
): { message: string; details: Record<string, unknown> } {
  const last = earlier[earlier.length - 1];
  const times = earlier.length === 1 ? 'before' : `${earlier.length} times`;
  return {
    message: `this file (sha256 ${sha256}) was imported ${times}, last on ${last?.importedAt} (${last?.rows} requests); nothing was loaded. To load its rows again as new requests, import it with again (--again, ?again=true)`,
    details: { sha256, imports: earlier.length, importedAt: last?.importedAt, rows: last?.rows },
  };
}
