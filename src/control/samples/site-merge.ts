/**
 * A k-way merge of sorted pages that sites answer, fetching more from a site when its page
 * runs out: the control plane's half of a list kept at several sites.
 */
export interface SiteStream<Item> {
  readonly site: string;
  /** Items already fetched, in the merge's order. */
  buffer: Item[];
  /** The site answered fewer than asked: nothing more there. */
  exhausted: boolean;
  /** Fetches the site's next items after the last one fetched. */
  readonly more: (last: Item | undefined) => Promise<{ items: readonly Item[]; exhausted: boolean }>;
  last: Item | undefined;
}

/**
 * Takes items in order from the sites' streams (`before(a, b)` < 0 when `a` comes first),
 * refilling a stream that ran out, until `take` returns false or every stream is spent.
 * Returns whether every stream is spent.
 */
export async function mergeSiteStreams<Item>(
  streams: readonly SiteStream<Item>[],
  before: (a: Item, b: Item) => number,
  take: (item: Item) => boolean,
): Promise<boolean> {
  for (;;) {
    await Promise.all(
      streams
        .filter((s) => s.buffer.length === 0 && !s.exhausted)
        .map(async (s) => {
          const page = await s.more(s.last);
          s.buffer = [...page.items];
          s.exhausted = page.exhausted;
          s.last = page.items.at(-1) ?? s.last;
        }),
    );
    let next: SiteStream<Item> | undefined;
    for (const s of streams) {
      const head = s.buffer[0];
      if (head !== undefined && (next === undefined || before(head, next.buffer[0] as Item) < 0)) next = s;
    }
    if (next === undefined) return true;
    if (!take(next.buffer.shift() as Item)) return false;
  }
}
