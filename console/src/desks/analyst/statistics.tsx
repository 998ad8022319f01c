import { useQuery } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useState } from 'react';
import type { Query } from '../../api/client';
import { type Bar, BarChart, ColumnChart } from '../../components/charts';
import { Field } from '../../components/field';
import { formatNumber } from '../../components/format';
import { Loading, Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { useApi } from '../../session/session';
import type { StatsAnswer, StatsRow } from './types';

const DAY_MS = 86_400_000;

interface Range {
  readonly from: string;
  /** Inclusive here; the API's `to` is exclusive, so it is asked for the day after. */
  readonly through: string;
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The last 30 days, today (UTC) included. */
function defaultRange(): Range {
  const today = Date.parse(`${isoDay(Date.now())}T00:00:00Z`);
  return { from: isoDay(today - 29 * DAY_MS), through: isoDay(today) };
}

function queryOf(range: Range): Query {
  const through = Date.parse(`${range.through}T00:00:00Z`);
  return { from: range.from, to: Number.isNaN(through) ? range.through : isoDay(through + DAY_MS) };
}

/** `/statistics`: detections by day, by country and by threat over a range of days. */
export function StatisticsDesk() {
  const [draft, setDraft] = useState<Range>(defaultRange);
  const [range, setRange] = useState<Range>(draft);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setRange(draft);
  };
  const query = queryOf(range);
  const byDay = useStats('/v1/stats/detections', {
    ...query,
    groupBy: 'day',
    type: 'detection',
    limit: 10_000,
  });
  const byCountry = useStats('/v1/stats/detections', { ...query, groupBy: 'country', type: 'detection' });
  const threats = useStats('/v1/stats/top-threats', { ...query, limit: 20 });

  return (
    <Page title="Statistics">
      <form onSubmit={submit} className="analyst-range" aria-label="Date range">
        <Field label="From" name="from" error={byDay.error}>
          {(p) => (
            <input
              {...p}
              type="date"
              value={draft.from}
              onChange={(e) => setDraft((d) => ({ ...d, from: e.target.value }))}
              required
            />
          )}
        </Field>
        <Field label="Through" name="to" error={byDay.error}>
          {(p) => (
            <input
              {...p}
              type="date"
              value={draft.through}
              onChange={(e) => setDraft((d) => ({ ...d, through: e.target.value }))}
              required
            />
          )}
        </Field>
        <div className="form-row">
          <button type="submit">Show</button>
        </div>
      </form>
      <p className="hint">
        Days in UTC, both ends included: {range.from} to {range.through}. Counts are detection events at your
        sites.
      </p>
      <StatsSection
        id="analyst-by-day"
        title="Detections by day"
        query={byDay}
        keyLabel="Day"
        keyOf={(r) => r.day ?? 'unknown'}
        chart={(bars) => <ColumnChart title="Detections by day" bars={everyDay(range, bars)} />}
        note="A day without a column shows no group: none detected, or withheld."
      />
      <StatsSection
        id="analyst-by-country"
        title="Detections by country"
        query={byCountry}
        keyLabel="Country"
        keyOf={(r) => r.country ?? 'unknown'}
        sort
        chart={(bars) => <BarChart title="Detections by country" bars={bars} />}
      />
      <StatsSection
        id="analyst-by-threat"
        title="Top threats"
        query={threats}
        keyLabel="Threat"
        keyOf={(r) => r.threat ?? 'unknown'}
        chart={(bars) => <BarChart title="Top threats" bars={bars} />}
      />
    </Page>
  );
}

function useStats(path: string, query: Query) {
  const api = useApi();
  return useQuery({
    queryKey: ['analyst', 'stats', path, query],
    queryFn: ({ signal }) => api.get<StatsAnswer>(path, { query, signal }),
    retry: false,
  });
}

function StatsSection({
  id,
  title,
  query,
  keyLabel,
  keyOf,
  sort = false,
  chart,
  note,
}: {
  readonly id: string;
  readonly title: string;
  readonly query: { data?: StatsAnswer | undefined; error: unknown; isPending: boolean };
  readonly keyLabel: string;
  readonly keyOf: (row: StatsRow) => string;
  /** Most events first (the API answers in key order). */
  readonly sort?: boolean;
  readonly chart: (bars: readonly Bar[]) => ReactNode;
  readonly note?: string;
}) {
  const rows = query.data === undefined ? [] : [...query.data.rows];
  if (sort) rows.sort((a, b) => b.events - a.events);
  const bars = rows.map((r) => ({ label: keyOf(r), value: r.events }));
  return (
    <section aria-labelledby={id} className="analyst-stats">
      <h2 id={id}>{title}</h2>
      {query.isPending ? <Loading what={title.toLowerCase()} /> : null}
      <ProblemMessage error={query.error} />
      {query.data === undefined ? null : (
        <>
          <p className="analyst-suppressed">{suppressedText(query.data)}</p>
          {rows.length === 0 ? (
            <p>No group to show in this range.</p>
          ) : (
            <>
              {chart(bars)}
              {note === undefined ? null : <p className="hint">{note}</p>}
              <div className="table-wrap">
                <table>
                  <caption className="visually-hidden">{title}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{keyLabel}</th>
                      <th scope="col" className="num">
                        Detections
                      </th>
                      <th scope="col" className="num">
                        Installations
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((r) => (
                      <tr key={keyOf(r)}>
                        <th scope="row">{keyOf(r)}</th>
                        <td className="num">{formatNumber(r.events)}</td>
                        <td className="num">{formatNumber(r.installations)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          )}
        </>
      )}
    </section>
  );
}

const MAX_CHART_DAYS = 400;

/** Every day of the range on the time axis, so a column's place is its date. */
function everyDay(range: Range, bars: readonly Bar[]): readonly Bar[] {
  const from = Date.parse(`${range.from}T00:00:00Z`);
  const through = Date.parse(`${range.through}T00:00:00Z`);
  const days = (through - from) / DAY_MS + 1;
  if (Number.isNaN(days) || days < 1 || days > MAX_CHART_DAYS) return bars;
  const byDay = new Map(bars.map((b) => [b.label, b.value]));
  return Array.from({ length: days }, (_, i) => {
    const label = isoDay(from + i * DAY_MS);
    return { label, value: byDay.get(label) ?? 0 };
  });
}

/** What the answer withheld, said plainly: small groups could point at a person. */
function suppressedText(answer: StatsAnswer): string {
  const n = answer.minGroupSize;
  const withheld =
    answer.suppressed === 0
      ? `No group is withheld: each has at least ${n} installations.`
      : `${formatNumber(answer.suppressed)} ${answer.suppressed === 1 ? 'group' : 'groups'} with fewer than ${n} installations ${answer.suppressed === 1 ? 'is' : 'are'} withheld.`;
  return answer.truncated ? `${withheld} There are more groups than shown.` : withheld;
}
