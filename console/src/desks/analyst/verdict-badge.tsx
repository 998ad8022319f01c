const BADGES: Readonly<Record<string, string>> = {
  malicious: 'badge badge-danger',
  suspicious: 'badge badge-warn',
  clean: 'badge badge-ok',
};

/** A verdict as a word with a colour; the word alone carries the meaning. */
export function VerdictBadge({ verdict }: { readonly verdict: string }) {
  return <span className={BADGES[verdict] ?? 'badge'}>{verdict}</span>;
}
