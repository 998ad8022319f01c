const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;

/**
 * Rows of the load format as ClickHouse `TabSeparated` lines of one column (`load_lines`):
 * the bytes unchanged but for each backslash, doubled (the only escape a line of the load
 * format needs: its fields never hold tabs, line feeds or other control characters, and U+001F
 * is plain text to `TabSeparated`). A chunk without a backslash, nearly every one, is returned
 * as it is: one native scan, no copy. The server splits the fields (see `loadViewDdl`).
 *
 * @example
 * stream.push(tabSeparatedLines(chunk));
 */
export function tabSeparatedLines(chunk: Uint8Array): Uint8Array {
  let backslash = chunk.indexOf(BACKSLASH);
  if (backslash === -1) return chunk;
  let backslashes = 0;
  for (let i = backslash; i !== -1; i = chunk.indexOf(BACKSLASH, i + 1)) backslashes += 1;
  const out = Buffer.allocUnsafe(chunk.length + backslashes);
  let from = 0;
  let o = 0;
  while (backslash !== -1) {
    out.set(chunk.subarray(from, backslash + 1), o);
    o += backslash + 1 - from;
    out[o++] = BACKSLASH;
    from = backslash + 1;
    backslash = chunk.indexOf(BACKSLASH, from);
  }
  out.set(chunk.subarray(from), o);
  return out;
}

/** Whether the rows end with a complete row (a line feed), so no row is cut short unseen. */
export function endsWithCompleteRow(rows: readonly Uint8Array[]): boolean {
  for (let c = rows.length - 1; c >= 0; c -= 1) {
    const chunk = rows[c]!;
    if (chunk.length > 0) return chunk[chunk.length - 1] === NEWLINE;
  }
  return true;
}
