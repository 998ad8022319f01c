import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link, useLocation } from 'wouter';
import { Field } from '../../components/field';
import { formatBytes, formatDateTime, formatNumber } from '../../components/format';
import { Loading, Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { TableRegion } from '../../components/table-region';
import { useSession } from '../../session/session';
import { StateBadge } from './state-badge';
import type { RelocationPlan, RelocationStatus } from './types';

/** Plan a relocation to the policy in force, start it, and the relocations so far. */
export function RelocationsPage() {
  return (
    <Page title="Relocations">
      <PlanAndStart />
      <PastRelocations />
    </Page>
  );
}

function PlanAndStart() {
  const { api } = useSession();
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const [batchSize, setBatchSize] = useState('');
  const [rateLimit, setRateLimit] = useState('');
  const plan = useMutation({
    mutationFn: () => api.post<RelocationPlan>('/v1/relocations', { json: { dryRun: true } }),
  });
  const start = useMutation({
    mutationFn: () =>
      api.post<RelocationStatus>('/v1/relocations', {
        json: {
          ...(batchSize.trim() === '' ? {} : { batchSize: Number(batchSize) }),
          ...(rateLimit.trim() === '' ? {} : { rateLimitMbps: Number(rateLimit) }),
        },
      }),
    onSuccess: (status) => {
      queryClient.setQueryData(['relocation', status.id], status);
      void queryClient.invalidateQueries({ queryKey: ['relocations'] });
      navigate(`/${status.id}`);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    start.mutate();
  };
  return (
    <>
      <section aria-labelledby="plan">
        <h2 id="plan">Plan</h2>
        <p>What the policy in force would move, counted without moving anything.</p>
        <button type="button" className="secondary" onClick={() => plan.mutate()} disabled={plan.isPending}>
          Plan relocation
        </button>
        <ProblemMessage error={plan.error} />
        {plan.data === undefined ? null : <PlanTable plan={plan.data} />}
      </section>
      <section aria-labelledby="start">
        <h2 id="start">Start</h2>
        <form onSubmit={submit} className="admin-form">
          <div className="form-row">
            <Field
              label="Batch size"
              name="batchSize"
              error={start.error}
              hint="Installations a batch; default 50."
            >
              {(p) => (
                <input
                  {...p}
                  type="number"
                  min={1}
                  max={10000}
                  value={batchSize}
                  onChange={(e) => setBatchSize(e.target.value)}
                />
              )}
            </Field>
            <Field
              label="Rate limit (MB/s)"
              name="rateLimitMbps"
              error={start.error}
              hint="Sample bytes a second; empty or 0: no limit."
            >
              {(p) => (
                <input
                  {...p}
                  type="number"
                  min={0}
                  step="any"
                  value={rateLimit}
                  onChange={(e) => setRateLimit(e.target.value)}
                />
              )}
            </Field>
          </div>
          <ProblemMessage error={start.error} />
          <button type="submit" disabled={start.isPending}>
            Start relocation
          </button>
        </form>
      </section>
    </>
  );
}

function PlanTable({ plan }: { readonly plan: RelocationPlan }) {
  if (plan.groups.length === 0) {
    return (
      <p className="notice" role="status">
        Nothing to move: every installation is where policy version {plan.policyVersion} puts it.
      </p>
    );
  }
  return (
    <TableRegion label="Plan">
      <table aria-label={`Relocation plan under policy version ${plan.policyVersion}`}>
        <caption>
          Under policy version {plan.policyVersion}, {formatNumber(plan.installations)} installations in all
        </caption>
        <thead>
          <tr>
            <th scope="col">From → to</th>
            <th scope="col" className="num">
              Installations
            </th>
            <th scope="col" className="num">
              Submissions
            </th>
            <th scope="col" className="num">
              Samples
            </th>
            <th scope="col" className="num">
              Bytes
            </th>
            <th scope="col" className="num">
              Events
            </th>
          </tr>
        </thead>
        <tbody>
          {plan.groups.map((g) => (
            <tr key={`${g.source}>${g.target}`}>
              <th scope="row">
                {g.source} → {g.target}
              </th>
              <td className="num">{formatNumber(g.installations)}</td>
              <td className="num">{formatNumber(g.submissions)}</td>
              <td className="num">{formatNumber(g.samples.count)}</td>
              <td className="num">{formatBytes(g.samples.bytes)}</td>
              <td className="num">{formatNumber(g.events)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableRegion>
  );
}

function PastRelocations() {
  const { api } = useSession();
  const list = useQuery({
    queryKey: ['relocations'],
    queryFn: () => api.get<{ relocations: RelocationStatus[] }>('/v1/relocations'),
  });
  return (
    <section aria-labelledby="past">
      <h2 id="past">Relocations so far</h2>
      {list.isPending ? <Loading what="relocations" /> : null}
      <ProblemMessage error={list.error} />
      {list.data?.relocations.length === 0 ? <p>None yet.</p> : null}
      {list.data === undefined || list.data.relocations.length === 0 ? null : (
        <TableRegion label="Relocations">
          <table aria-label="Relocations, newest first">
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">State</th>
                <th scope="col" className="num">
                  Policy version
                </th>
                <th scope="col" className="num">
                  Installations
                </th>
                <th scope="col" className="num">
                  Bytes
                </th>
                <th scope="col">Finished</th>
              </tr>
            </thead>
            <tbody>
              {list.data.relocations.map((r) => (
                <tr key={r.id}>
                  <td>
                    <Link href={`/${r.id}`}>{formatDateTime(r.createdAt)}</Link>
                  </td>
                  <td>
                    <StateBadge state={r.state} />
                  </td>
                  <td className="num">{r.policyVersion}</td>
                  <td className="num">
                    {formatNumber(r.installations.done)} / {formatNumber(r.installations.total)}
                  </td>
                  <td className="num">
                    {formatBytes(r.bytes.done)} / {formatBytes(r.bytes.total)}
                  </td>
                  <td>{formatDateTime(r.finishedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
    </section>
  );
}
