import { useInfiniteQuery, useQueries } from '@tanstack/react-query';
import { Link, useParams } from 'wouter';
import type { ApiClient } from '../../api/client';
import { formatAge, formatDate, formatNumber } from '../../components/format';
import { Loading, Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { useApi } from '../../session/session';
import {
  LEGAL_KEY,
  LEGAL_STATES,
  type LegalRequest,
  type LegalState,
  OPEN_STATES,
  type RequestPage,
  STATE_LABELS,
  stateBadgeClass,
  titleOf,
  words,
} from './legal-model';

const PAGE_SIZE = 50;

/** The queue: how many requests are in each state, and the requests of one, oldest first. */
export function QueuePage() {
  const params = useParams<{ state?: string }>();
  const state: LegalState = LEGAL_STATES.includes(params.state as LegalState)
    ? (params.state as LegalState)
    : 'received';
  return (
    <Page
      title="Legal requests"
      actions={
        <>
          <Link href="/register" className="button">
            Register request
          </Link>
          <Link href="/import" className="button secondary">
            Import history
          </Link>
        </>
      }
    >
      <StateCounts current={state} />
      <StateQueue state={state} />
    </Page>
  );
}

function StateCounts({ current }: { readonly current: LegalState }) {
  const api = useApi();
  const counts = useQueries({
    queries: LEGAL_STATES.map((state) => ({
      queryKey: [...LEGAL_KEY, 'count', state],
      queryFn: () => countOf(api, state),
    })),
  });
  const failed = counts.find((c) => c.error !== null);
  return (
    <nav aria-label="Requests by state">
      <ul className="counts">
        {LEGAL_STATES.map((state, i) => (
          <li key={state}>
            <Link href={`/state/${state}`} aria-current={state === current ? 'page' : undefined}>
              {STATE_LABELS[state]}{' '}
              <strong className="legal-count">
                {counts[i]?.data === undefined ? '…' : formatNumber(counts[i].data)}
              </strong>
            </Link>
          </li>
        ))}
      </ul>
      {failed === undefined ? null : <ProblemMessage error={failed.error} />}
    </nav>
  );
}

/** Every page of one state, counted: the API pages by cursor and says no total. */
async function countOf(api: ApiClient, state: LegalState): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const page: RequestPage = await api.get<RequestPage>('/v1/legal-requests', {
      query: { state, limit: 10_000, cursor },
    });
    count += page.requests.length;
    cursor = page.next;
  } while (cursor !== null);
  return count;
}

function StateQueue({ state }: { readonly state: LegalState }) {
  const api = useApi();
  const pages = useInfiniteQuery({
    queryKey: [...LEGAL_KEY, 'list', state],
    queryFn: ({ pageParam }) =>
      api.get<RequestPage>('/v1/legal-requests', { query: { state, limit: PAGE_SIZE, cursor: pageParam } }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next,
  });
  const requests = pages.data?.pages.flatMap((p) => p.requests) ?? [];
  const open = OPEN_STATES.includes(state);
  const now = Date.now();
  const today = new Date(now).toISOString().slice(0, 10);
  return (
    <section aria-labelledby="legal-queue-heading">
      <h2 id="legal-queue-heading">{STATE_LABELS[state]}</h2>
      {pages.isPending ? <Loading what="requests" /> : null}
      <ProblemMessage error={pages.error} />
      {pages.isSuccess && requests.length === 0 ? <p>No request is {words(state)}.</p> : null}
      {requests.length === 0 ? null : (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Requests {words(state)}, oldest first</caption>
            <thead>
              <tr>
                <th scope="col">Request</th>
                <th scope="col">Received</th>
                <th scope="col" className="num">
                  {open ? 'Age' : 'Took'}
                </th>
                <th scope="col">{open ? 'Due' : 'Closed'}</th>
                <th scope="col">Country</th>
                <th scope="col">Authority</th>
                <th scope="col">Category</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {requests.map((request) => (
                <QueueRow key={request.id} request={request} now={now} today={today} open={open} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pages.hasNextPage ? (
        <button
          type="button"
          className="secondary"
          disabled={pages.isFetchingNextPage}
          onClick={() => void pages.fetchNextPage()}
        >
          More requests
        </button>
      ) : null}
    </section>
  );
}

function QueueRow({
  request,
  now,
  today,
  open,
}: {
  readonly request: LegalRequest;
  readonly now: number;
  readonly today: string;
  readonly open: boolean;
}) {
  const overdue = open && request.dueAt !== null && request.dueAt < today;
  return (
    <tr className={overdue ? 'overdue' : undefined}>
      <td>
        <Link href={`/requests/${request.id}`}>{titleOf(request)}</Link>
        {request.historical ? <span className="badge legal-tag">imported</span> : null}
      </td>
      <td>{formatDate(request.receivedAt)}</td>
      <td className="num">
        {formatAge(request.receivedAt, open ? now : Date.parse(request.closedAt ?? ''))}
      </td>
      <td>
        {open ? formatDate(request.dueAt) : formatDate(request.closedAt)}
        {overdue ? <span className="badge badge-danger legal-tag">overdue</span> : null}
      </td>
      <td>{request.requesterCountry}</td>
      <td>
        {words(request.authorityKind)}
        {request.authority === '' ? null : <span className="legal-sub">{request.authority}</span>}
      </td>
      <td>{words(request.category)}</td>
      <td>
        <span className={stateBadgeClass(request.state)}>{STATE_LABELS[request.state]}</span>
        {request.reason === null ? null : <span className="legal-sub">{words(request.reason)}</span>}
      </td>
    </tr>
  );
}
