import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'wouter';
import { Field } from '../../components/field';
import { formatDate, formatDateTime, formatNumber, saveBlob } from '../../components/format';
import { Loading, Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { useApi } from '../../session/session';
import { InventoryView } from './inventory-view';
import {
  type ExportSummary,
  type Inventory,
  isFinal,
  type PrivacyRequest,
  REJECTION_REASONS,
  reasonLabel,
  requestPath,
  typeLabel,
} from './privacy-api';
import { OverdueBadge, StateBadge } from './state-badge';

/** While the job answers a request, its page asks again this often. */
const POLL_MS = 1000;

export function RequestPage({ id }: { readonly id: string }) {
  const api = useApi();
  const request = useQuery({
    queryKey: ['privacy', 'request', id],
    queryFn: ({ signal }) => api.get<PrivacyRequest>(requestPath(id), { signal }),
    refetchInterval: (query) => {
      const state = query.state.data?.state;
      return state === undefined || isFinal(state) ? false : POLL_MS;
    },
  });
  if (request.isPending) return <Loading what="the request" />;
  if (request.isError) {
    return (
      <Page title="Privacy request">
        <ProblemMessage error={request.error} />
      </Page>
    );
  }
  const r = request.data;
  return (
    <Page title={`${typeLabel(r.type)} request`}>
      <p>
        <Link href="/">Back to the queue</Link>
      </p>
      <RequestFacts request={r} />
      {r.state === 'received' ? <VerifyForm id={r.id} /> : null}
      {r.state === 'received' || r.state === 'verified' ? <RejectForm id={r.id} /> : null}
      {isFinal(r.state) ? null : <ExtendForm id={r.id} />}
      {r.state === 'completed' ? <Answer request={r} /> : null}
    </Page>
  );
}

function RequestFacts({ request: r }: { readonly request: PrivacyRequest }) {
  return (
    <dl className="facts">
      <dt>Request</dt>
      <dd className="mono">{r.id}</dd>
      <dt>State</dt>
      <dd>
        <StateBadge state={r.state} />
        {isFinal(r.state) ? null : (
          <span className="hint" aria-live="polite">
            {' '}
            {r.waitingFor.length > 0 ? `waiting for ${r.waitingFor.join(', ')}` : 'refreshing'}
          </span>
        )}
      </dd>
      <dt>Installation</dt>
      <dd className="mono">{r.installation ?? 'erased (the log names it only by commitment)'}</dd>
      <dt>Filed by</dt>
      <dd>{r.filedBy}</dd>
      <dt>Received</dt>
      <dd>{formatDateTime(r.receivedAt)}</dd>
      <dt>Due</dt>
      <dd>
        {formatDate(r.dueAt)} {r.overdue ? <OverdueBadge /> : null}
      </dd>
      {r.closedAt === null ? null : (
        <>
          <dt>Closed</dt>
          <dd>{formatDateTime(r.closedAt)}</dd>
        </>
      )}
      {r.verificationNote === null ? null : (
        <>
          <dt>Verification</dt>
          <dd>{r.verificationNote}</dd>
        </>
      )}
      {r.reason === null ? null : (
        <>
          <dt>Reason</dt>
          <dd>
            {reasonLabel(r.reason)} <code>{r.reason}</code>
          </dd>
        </>
      )}
      {r.note === null ? null : (
        <>
          <dt>Note</dt>
          <dd>{r.note}</dd>
        </>
      )}
      {r.extensions.length === 0 ? null : (
        <>
          <dt>Extensions</dt>
          <dd>
            <ul className="privacy-plain">
              {r.extensions.map((e) => (
                <li key={e.at}>
                  {e.days} days on {formatDate(e.at)}: {e.reason}
                </li>
              ))}
            </ul>
          </dd>
        </>
      )}
      {r.progress.length === 0 ? null : (
        <>
          <dt>Steps done</dt>
          <dd>{r.progress.join(', ')}</dd>
        </>
      )}
    </dl>
  );
}

/** The mutation every action shares: post, then show the request as the API answers it. */
function useAction<T>(id: string, action: 'verify' | 'reject' | 'extend') {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: T) => api.post<PrivacyRequest>(`${requestPath(id)}/${action}`, { json: body }),
    onSuccess: (updated) => {
      queryClient.setQueryData(['privacy', 'request', id], updated);
      void queryClient.invalidateQueries({ queryKey: ['privacy', 'queue'] });
    },
  });
}

function VerifyForm({ id }: { readonly id: string }) {
  const [note, setNote] = useState('');
  const verify = useAction<{ note: string }>(id, 'verify');
  return (
    <section aria-labelledby="privacy-verify">
      <h2 id="privacy-verify">Verify</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          verify.mutate({ note });
        }}
      >
        <Field label="How the identity was checked" name="note" error={verify.error}>
          {(p) => <textarea {...p} value={note} onChange={(e) => setNote(e.target.value)} />}
        </Field>
        <ProblemMessage error={verify.error} />
        <button type="submit" disabled={verify.isPending}>
          Verify
        </button>
      </form>
    </section>
  );
}

function RejectForm({ id }: { readonly id: string }) {
  const [reason, setReason] = useState<string>(REJECTION_REASONS[0].code);
  const [note, setNote] = useState('');
  const reject = useAction<{ reason: string; note: string }>(id, 'reject');
  return (
    <section aria-labelledby="privacy-reject">
      <h2 id="privacy-reject">Reject</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          reject.mutate({ reason, note });
        }}
      >
        <Field label="Reason" name="reason" error={reject.error}>
          {(p) => (
            <select {...p} value={reason} onChange={(e) => setReason(e.target.value)}>
              {REJECTION_REASONS.map((r) => (
                <option key={r.code} value={r.code}>
                  {r.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Note to the user" name="note" error={reject.error}>
          {(p) => <textarea {...p} value={note} onChange={(e) => setNote(e.target.value)} />}
        </Field>
        <ProblemMessage error={reject.error} />
        <button type="submit" className="danger" disabled={reject.isPending}>
          Reject
        </button>
      </form>
    </section>
  );
}

function ExtendForm({ id }: { readonly id: string }) {
  const [days, setDays] = useState('30');
  const [reason, setReason] = useState('');
  const extend = useAction<{ days: number; reason: string }>(id, 'extend');
  return (
    <section aria-labelledby="privacy-extend">
      <h2 id="privacy-extend">Extend</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          extend.mutate({ days: Number(days), reason });
        }}
      >
        <Field label="More days" name="days" error={extend.error} hint="1 to 60 days.">
          {(p) => (
            <input
              {...p}
              type="number"
              inputMode="numeric"
              value={days}
              onChange={(e) => setDays(e.target.value)}
            />
          )}
        </Field>
        <Field label="Why more time is needed" name="reason" error={extend.error}>
          {(p) => <textarea {...p} value={reason} onChange={(e) => setReason(e.target.value)} />}
        </Field>
        <ProblemMessage error={extend.error} />
        <button type="submit" disabled={extend.isPending}>
          Extend
        </button>
      </form>
    </section>
  );
}

function Answer({ request: r }: { readonly request: PrivacyRequest }) {
  if (r.type === 'inventory' && r.answer !== null) return <InventoryView inventory={r.answer as Inventory} />;
  if (r.type === 'export' && r.answer !== null)
    return <ExportAnswer id={r.id} summary={r.answer as ExportSummary} />;
  if (r.type === 'erasure') {
    return (
      <section aria-labelledby="privacy-answer">
        <h2 id="privacy-answer">Receipt</h2>
        <p>
          The installation was erased everywhere.{' '}
          <Link href={`/requests/${r.id}/receipt`}>Open the receipt</Link>
        </p>
      </section>
    );
  }
  return null;
}

function ExportAnswer({ id, summary }: { readonly id: string; readonly summary: ExportSummary }) {
  const api = useApi();
  const download = useMutation({
    mutationFn: async () => saveBlob(await api.blob(`${requestPath(id)}/export`), `export-${id}.zip`),
  });
  return (
    <section aria-labelledby="privacy-answer">
      <h2 id="privacy-answer">Export</h2>
      <p>
        Prepared on {summary.preparedOn}. The zip is built from what the sites hold at the moment of the
        download; it is encrypted (AES-256) with the password <code>infected</code>.
      </p>
      <div className="table-wrap">
        <table>
          <caption className="visually-hidden">What the export holds, by site</caption>
          <thead>
            <tr>
              <th scope="col">Site</th>
              <th scope="col" className="num">
                Submissions
              </th>
              <th scope="col" className="num">
                Samples
              </th>
              <th scope="col" className="num">
                Events
              </th>
            </tr>
          </thead>
          <tbody>
            {summary.sites.map((s) => (
              <tr key={s.site}>
                <td>{s.site}</td>
                <td className="num">{formatNumber(s.submissions)}</td>
                <td className="num">{formatNumber(s.samples)}</td>
                <td className="num">{formatNumber(s.events)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ProblemMessage error={download.error} />
      <button type="button" disabled={download.isPending} onClick={() => download.mutate()}>
        Download export
      </button>
    </section>
  );
}
