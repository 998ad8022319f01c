import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'wouter';
import { formatDate, formatNumber } from '../../components/format';
import { Loading, Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { useApi } from '../../session/session';
import {
  type PrivacyRequest,
  REQUEST_STATES,
  REQUEST_TYPES,
  type RequestPage,
  STATE_LABELS,
  typeLabel,
} from './privacy-api';
import { OverdueBadge, StateBadge } from './state-badge';

const PAGE_SIZE = 50;
/** The overdue requests are few by nature: one page of them leads the queue. */
const OVERDUE_PAGE_SIZE = 1000;

/**
 * The queue: the API lists newest first and flags overdue requests; the overdue ones are
 * asked for separately (`overdue=true`) so that they lead the queue whatever page they are on.
 */
export function QueuePage() {
  const api = useApi();
  const [state, setState] = useState('');
  const [type, setType] = useState('');
  const [overdueOnly, setOverdueOnly] = useState(false);
  const filters = { state, type };

  const overdue = useQuery({
    queryKey: ['privacy', 'queue', 'overdue', filters],
    queryFn: ({ signal }) =>
      api.get<RequestPage>('/v1/privacy-requests', {
        query: { ...filters, overdue: true, limit: OVERDUE_PAGE_SIZE },
        signal,
      }),
  });
  const pages = useInfiniteQuery({
    queryKey: ['privacy', 'queue', 'all', filters],
    queryFn: ({ pageParam, signal }) =>
      api.get<RequestPage>('/v1/privacy-requests', {
        query: { ...filters, limit: PAGE_SIZE, cursor: pageParam },
        signal,
      }),
    initialPageParam: '',
    getNextPageParam: (last) => last.next ?? undefined,
    enabled: !overdueOnly,
  });

  const overdueRows = overdue.data?.requests ?? [];
  const rest = (pages.data?.pages ?? []).flatMap((p) => p.requests).filter((r) => !r.overdue);
  const rows = overdueOnly ? overdueRows : [...overdueRows, ...rest];
  const error = overdue.error ?? (overdueOnly ? null : pages.error);
  const loading = overdue.isPending || (!overdueOnly && pages.isPending);

  return (
    <Page
      title="Privacy requests"
      actions={
        <Link href="/new" className="button">
          New request
        </Link>
      }
    >
      <form
        className="form-row privacy-filters"
        aria-label="Filter the queue"
        onSubmit={(e) => e.preventDefault()}
      >
        <div className="field">
          <label htmlFor="privacy-filter-state">State</label>
          <select id="privacy-filter-state" value={state} onChange={(e) => setState(e.target.value)}>
            <option value="">Any state</option>
            {REQUEST_STATES.map((s) => (
              <option key={s} value={s}>
                {STATE_LABELS[s]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="privacy-filter-type">Type</label>
          <select id="privacy-filter-type" value={type} onChange={(e) => setType(e.target.value)}>
            <option value="">Any type</option>
            {REQUEST_TYPES.map((t) => (
              <option key={t} value={t}>
                {typeLabel(t)}
              </option>
            ))}
          </select>
        </div>
        <div className="field privacy-check">
          <input
            id="privacy-filter-overdue"
            type="checkbox"
            checked={overdueOnly}
            onChange={(e) => setOverdueOnly(e.target.checked)}
          />
          <label htmlFor="privacy-filter-overdue">Overdue only</label>
        </div>
      </form>
      <ProblemMessage error={error} />
      {loading ? (
        <Loading what="the requests" />
      ) : (
        <>
          <p role="status">
            {formatNumber(overdueRows.length)} overdue
            {overdueOnly ? '' : ` · ${formatNumber(rows.length)} shown`}
          </p>
          <QueueTable rows={rows} />
          {!overdueOnly && pages.hasNextPage ? (
            <button
              type="button"
              className="secondary"
              disabled={pages.isFetchingNextPage}
              onClick={() => void pages.fetchNextPage()}
            >
              Load more requests
            </button>
          ) : null}
        </>
      )}
    </Page>
  );
}

function QueueTable({ rows }: { readonly rows: readonly PrivacyRequest[] }) {
  if (rows.length === 0) return <p>No request matches.</p>;
  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">Privacy requests, overdue ones first, then newest first</caption>
        <thead>
          <tr>
            <th scope="col">Request</th>
            <th scope="col">State</th>
            <th scope="col">Received</th>
            <th scope="col">Due</th>
            <th scope="col">Filed by</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} className={r.overdue ? 'overdue' : undefined}>
              <td>
                <Link href={`/requests/${r.id}`}>
                  {typeLabel(r.type)} <span className="mono">{r.id.slice(0, 8)}</span>
                </Link>
              </td>
              <td>
                <StateBadge state={r.state} />
              </td>
              <td>{formatDate(r.receivedAt)}</td>
              <td>
                {formatDate(r.dueAt)} {r.overdue ? <OverdueBadge /> : null}
              </td>
              <td>{r.filedBy}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
