const TONE: Record<string, string> = {
  done: 'badge-ok',
  active: 'badge-ok',
  running: 'badge-warn',
  paused: 'badge-warn',
  cancelling: 'badge-warn',
  cancelled: 'badge-warn',
  expired: 'badge-warn',
  failed: 'badge-danger',
  revoked: 'badge-danger',
};

/** A relocation's or a token's state, as the API names it. */
export function StateBadge({ state }: { readonly state: string }) {
  return <span className={`badge ${TONE[state] ?? ''}`}>{state}</span>;
}
