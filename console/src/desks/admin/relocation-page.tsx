import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef } from 'react';
import { Link } from 'wouter';
import { formatBytes, formatDateTime, formatNumber } from '../../components/format';
import { Loading, Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { useSession } from '../../session/session';
import { StateBadge } from './state-badge';
import type { Progress, RelocationStatus } from './types';

/** States the job moves on from by itself: the page keeps asking while in one. */
const MOVING = new Set(['running', 'cancelling']);
const POLL_MS = 1000;

/** One relocation, watched live while it runs, with the actions its state allows. */
export function RelocationPage({ id }: { readonly id: string }) {
  const { api } = useSession();
  const queryClient = useQueryClient();
  // An action's button goes once the state changes: the focus moves to the state it led to.
  const stateLine = useRef<HTMLParagraphElement>(null);
  const status = useQuery({
    queryKey: ['relocation', id],
    queryFn: () => api.get<RelocationStatus>(`/v1/relocations/${encodeURIComponent(id)}`),
    refetchInterval: (query) =>
      query.state.data !== undefined && MOVING.has(query.state.data.state) ? POLL_MS : false,
  });
  const action = useMutation({
    mutationFn: (name: 'pause' | 'resume' | 'cancel') =>
      api.post<RelocationStatus>(`/v1/relocations/${encodeURIComponent(id)}/${name}`),
    onSuccess: (next) => {
      queryClient.setQueryData(['relocation', id], next);
      void queryClient.invalidateQueries({ queryKey: ['relocations'] });
      stateLine.current?.focus();
    },
  });
  const r = status.data;
  return (
    <Page title="Relocation">
      <p>
        <Link href="/">All relocations</Link>
      </p>
      {status.isPending ? <Loading what="the relocation" /> : null}
      <ProblemMessage error={status.error} />
      {r === undefined ? null : (
        <>
          <p className="admin-state" role="status" aria-live="polite" ref={stateLine} tabIndex={-1}>
            State: <StateBadge state={r.state} />
            {r.waitingFor.length === 0 ? null : <> · waiting for {r.waitingFor.join(', ')}</>}
          </p>
          <ProgressBar label="Records" progress={r.records} format={formatNumber} />
          <ProgressBar label="Bytes" progress={r.bytes} format={formatBytes} />
          <dl className="facts">
            <dt>Installations</dt>
            <dd>
              {formatNumber(r.installations.done)} of {formatNumber(r.installations.total)}
              {r.installations.skipped > 0 ? `, ${formatNumber(r.installations.skipped)} skipped` : ''}
              {r.installations.rolledBack > 0
                ? `, ${formatNumber(r.installations.rolledBack)} rolled back`
                : ''}
            </dd>
            <dt>Rate</dt>
            <dd>{formatBytes(r.rateBytesPerSecond)}/s</dd>
            <dt>Time left</dt>
            <dd>{r.etaSeconds === null ? '—' : formatSeconds(r.etaSeconds)}</dd>
            <dt>Policy version</dt>
            <dd>{r.policyVersion}</dd>
            <dt>Batch size</dt>
            <dd>{r.batchSize}</dd>
            <dt>Rate limit</dt>
            <dd>{r.rateLimitMbps === 0 ? 'none' : `${r.rateLimitMbps} MB/s`}</dd>
            <dt>Started</dt>
            <dd>{formatDateTime(r.createdAt)}</dd>
            <dt>Finished</dt>
            <dd>{formatDateTime(r.finishedAt)}</dd>
            <dt>Id</dt>
            <dd className="mono">{r.id}</dd>
          </dl>
          {r.errors.length === 0 ? null : (
            <section aria-labelledby="errors">
              <h2 id="errors">Errors</h2>
              <ul>
                {r.errors.map((e) => (
                  <li key={e}>{e}</li>
                ))}
              </ul>
            </section>
          )}
          <div className="form-row">
            {r.state === 'running' ? (
              <button
                type="button"
                className="secondary"
                onClick={() => action.mutate('pause')}
                disabled={action.isPending}
              >
                Pause
              </button>
            ) : null}
            {r.state === 'paused' || r.state === 'failed' ? (
              <button type="button" onClick={() => action.mutate('resume')} disabled={action.isPending}>
                Resume
              </button>
            ) : null}
            {['running', 'paused', 'failed'].includes(r.state) ? (
              <button
                type="button"
                className="danger"
                onClick={() => action.mutate('cancel')}
                disabled={action.isPending}
              >
                Cancel
              </button>
            ) : null}
          </div>
          <ProblemMessage error={action.error} />
        </>
      )}
    </Page>
  );
}

function ProgressBar({
  label,
  progress,
  format,
}: {
  readonly label: string;
  readonly progress: Progress;
  readonly format: (n: number) => string;
}) {
  const text = `${format(progress.done)} of ${format(progress.total)}`;
  return (
    <div className="admin-progress">
      <span id={`progress-${label}`}>
        {label}: {text}
      </span>
      <progress
        aria-labelledby={`progress-${label}`}
        max={Math.max(1, progress.total)}
        value={progress.total === 0 ? 1 : progress.done}
      />
    </div>
  );
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
