import { type RequestState, STATE_LABELS } from './privacy-api';

const TONE: Record<RequestState, string> = {
  received: 'badge-warn',
  verified: 'badge-warn',
  in_progress: 'badge-warn',
  completed: 'badge-ok',
  rejected: 'badge-danger',
};

export function StateBadge({ state }: { readonly state: RequestState }) {
  return <span className={`badge ${TONE[state]}`}>{STATE_LABELS[state]}</span>;
}

export function OverdueBadge() {
  return <span className="badge badge-danger">Overdue</span>;
}
