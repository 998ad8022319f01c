import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'wouter';
import { formatBytes, formatDate, formatDateTime } from '../../components/format';
import { Loading, Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { useApi, useSession } from '../../session/session';
import {
  ACTION_LABELS,
  type HistoryItem,
  type LegalRequest,
  type PackageInfo,
  requestKey,
  STATE_LABELS,
  stateBadgeClass,
  titleOf,
  words,
} from './legal-model';
import { PackageDownload, PasswordOnce, RequestActions } from './request-actions';

/** One request: what it asks, where it stands, its history, and what may be done next. */
export function RequestPage() {
  const { id } = useParams<{ id: string }>();
  const api = useApi();
  // The password of a fulfilment, kept in this page only: the API says it once.
  const [fulfilled, setFulfilled] = useState<PackageInfo | null>(null);
  const request = useQuery({
    queryKey: requestKey(id),
    queryFn: () => api.get<LegalRequest>(`/v1/legal-requests/${encodeURIComponent(id)}`),
  });
  if (request.isPending) return <Loading what="the request" />;
  if (request.error !== null) {
    return (
      <Page title="Legal request">
        <ProblemMessage error={request.error} />
        <p>
          <Link href="/">Back to the queue</Link>
        </p>
      </Page>
    );
  }
  const r = request.data;
  return (
    <Page title={titleOf(r)}>
      <p>
        <Link href={`/state/${r.state}`}>Back to the queue</Link>
      </p>
      <p>
        <span className={stateBadgeClass(r.state)}>{STATE_LABELS[r.state]}</span>
        {r.reason === null ? null : <span className="legal-sub">reason: {words(r.reason)}</span>}
      </p>
      {fulfilled?.password === undefined ? null : <PasswordOnce pkg={fulfilled} />}
      <RequestActions request={r} onFulfilled={setFulfilled} />
      <div className="legal-columns">
        <section aria-labelledby="legal-facts">
          <h2 id="legal-facts">The request</h2>
          <Facts request={r} />
        </section>
        <section aria-labelledby="legal-history">
          <h2 id="legal-history">History</h2>
          <Timeline items={r.history ?? []} />
        </section>
      </div>
      {r.package === null ? null : (
        <section aria-labelledby="legal-package">
          <h2 id="legal-package">Package</h2>
          <dl className="facts">
            <dt>Size</dt>
            <dd>{formatBytes(r.package.bytes)}</dd>
            <dt>SHA-256</dt>
            <dd className="mono">{r.package.sha256}</dd>
            <dt>Files</dt>
            <dd>{r.package.files.join(', ')}</dd>
          </dl>
          <PackageDownload id={r.id} />
        </section>
      )}
    </Page>
  );
}

function Facts({ request: r }: { readonly request: LegalRequest }) {
  const { session } = useSession();
  const who = (token: string | null) =>
    token === null ? '—' : token === session?.tokenId ? `${token} (you)` : token;
  const v = r.verification;
  return (
    <dl className="facts">
      <dt>Received</dt>
      <dd>{formatDate(r.receivedAt)}</dd>
      <dt>Due</dt>
      <dd>{formatDate(r.dueAt)}</dd>
      {r.closedAt === null ? null : (
        <>
          <dt>Closed</dt>
          <dd>{formatDate(r.closedAt)}</dd>
        </>
      )}
      <dt>Requester country</dt>
      <dd>{r.requesterCountry}</dd>
      <dt>Kind of authority</dt>
      <dd>{words(r.authorityKind)}</dd>
      <dt>Authority</dt>
      <dd>{r.authority || '—'}</dd>
      <dt>Legal basis</dt>
      <dd>{r.legalBasis || '—'}</dd>
      <dt>Reference</dt>
      <dd>{r.reference || '—'}</dd>
      <dt>Category</dt>
      <dd>{words(r.category)}</dd>
      <dt>Hashes</dt>
      <dd className="mono">{r.scope.hashes.join(', ') || '—'}</dd>
      <dt>Threats</dt>
      <dd>{r.scope.threats.join(', ') || '—'}</dd>
      <dt>Installations</dt>
      <dd className="mono">{r.scope.installations.join(', ') || '—'}</dd>
      <dt>Time range</dt>
      <dd>
        {r.scope.from === null && r.scope.to === null
          ? 'any time'
          : `from ${r.scope.from ?? 'the start'} to ${r.scope.to ?? 'now'}`}
      </dd>
      <dt>Text</dt>
      <dd className="legal-text">{r.scope.text || '—'}</dd>
      {r.historical ? (
        <>
          <dt>Origin</dt>
          <dd>imported from the organisation's history</dd>
        </>
      ) : null}
      {v === null ? null : (
        <>
          <dt>Verification</dt>
          <dd>
            {v.valid ? 'valid' : 'not valid'}
            {v.jurisdictions.length === 0 ? '' : ` under ${v.jurisdictions.join(', ')}`}
            {v.note === '' ? '' : ` — ${v.note}`}
          </dd>
          <dt>Proposed by</dt>
          <dd className="mono">
            {who(v.proposedBy)}, {formatDateTime(v.proposedAt)}
          </dd>
          <dt>Confirmed by</dt>
          <dd className="mono">
            {v.confirmedBy === null ? 'not yet' : `${who(v.confirmedBy)}, ${formatDateTime(v.confirmedAt)}`}
          </dd>
        </>
      )}
    </dl>
  );
}

function Timeline({ items }: { readonly items: readonly HistoryItem[] }) {
  const { session } = useSession();
  if (items.length === 0) return <p>No history.</p>;
  return (
    <ol className="timeline">
      {items.map((item, i) => (
        // The history is append-only: its position is its identity.
        // biome-ignore lint/suspicious/noArrayIndexKey: see above
        <li key={i}>
          <strong>{ACTION_LABELS[item.action] ?? words(item.action)}</strong> → {STATE_LABELS[item.state]}
          {item.reason === null ? '' : ` (${words(item.reason)})`}
          <br />
          <time dateTime={item.at}>{formatDateTime(item.at)}</time> · by{' '}
          <span className="mono">
            {item.actor.token}
            {item.actor.token === session?.tokenId ? ' (you)' : ''}
          </span>
          <HistoryData data={item.data} />
        </li>
      ))}
    </ol>
  );
}

/** What a step carried: a note, jurisdictions, what a fulfilment disclosed and withheld. */
function HistoryData({ data }: { readonly data: Readonly<Record<string, unknown>> }) {
  const entries = Object.entries(data).filter(([, value]) => value !== undefined && value !== null);
  if (entries.length === 0) return null;
  return (
    <ul className="legal-data">
      {entries.map(([key, value]) => (
        <li key={key}>
          {words(key)}: {textOf(value)}
        </li>
      ))}
    </ul>
  );
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(', ') || 'none';
  return JSON.stringify(value);
}
