import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { Link, Route, Switch, useLocation, useParams } from 'wouter';
import { BarChart, ColumnChart } from '../../components/charts';
import { CopyButton } from '../../components/copy-button';
import { formatDateTime, formatNumber } from '../../components/format';
import { Loading, Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { TableRegion } from '../../components/table-region';
import { useApi } from '../../session/session';
import { isYear, labelOf, type PublishedReport, type ReportIndex } from './report-types';

/** `/reports`: the published periods; `/reports/<period>`: one report. */
export function ReportsDesk() {
  return (
    <Switch>
      <Route path="/" component={ReportList} />
      <Route path="/:period" component={ReportView} />
    </Switch>
  );
}

function useReportIndex() {
  const api = useApi();
  return useQuery({
    queryKey: ['reports', 'index'],
    queryFn: () => api.get<ReportIndex>('/reports/index.json'),
  });
}

function ReportList() {
  const index = useReportIndex();
  return (
    <Page title="Reports">
      <p>
        The transparency reports an admin published: government and law-enforcement requests, users' requests
        about their own data, and where the data lives. Every number but the last can be recomputed from the
        signed control-plane log.
      </p>
      {index.isPending ? <Loading what="the published reports" /> : null}
      <ProblemMessage error={index.error} />
      {index.data === undefined ? null : index.data.reports.length === 0 ? (
        <p className="notice">No report is published yet.</p>
      ) : (
        <>
          <PeriodPicker periods={index.data.reports.map((r) => r.period)} />
          <TableRegion label="Published reports, newest first">
            <table>
              <caption>Published reports, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Period</th>
                  <th scope="col" className="num">
                    Requests
                  </th>
                  <th scope="col" className="num">
                    Countries
                  </th>
                  <th scope="col" className="num">
                    Users' requests
                  </th>
                  <th scope="col">Published</th>
                </tr>
              </thead>
              <tbody>
                {index.data.reports.map((r) => (
                  <tr key={r.period}>
                    <th scope="row">
                      <Link href={`/${r.period}`}>{r.period}</Link>
                    </th>
                    <td className="num">{formatNumber(r.requests)}</td>
                    <td className="num">{formatNumber(r.countries)}</td>
                    <td className="num">{formatNumber(r.userRequests)}</td>
                    <td>{r.publishedAt === null ? '' : formatDateTime(r.publishedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
          <LogKey index={index.data} />
        </>
      )}
    </Page>
  );
}

function LogKey({ index }: { readonly index: ReportIndex }) {
  return (
    <section aria-labelledby="log-key-heading">
      <h2 id="log-key-heading">Checking the numbers</h2>
      <p>
        The reports count the control-plane log up to a signed checkpoint. This server gives the log's key as
        below; get it from the operator too before you rely on it, and check an entry in the{' '}
        <a href="/console/log/control">transparency log</a>.
      </p>
      <dl className="facts">
        <dt>Control log key</dt>
        <dd className="mono">
          {index.key} <CopyButton text={index.key} label="Copy the key" />
        </dd>
      </dl>
    </section>
  );
}

function PeriodPicker({
  periods,
  current,
}: {
  readonly periods: readonly string[];
  readonly current?: string;
}) {
  const id = useId();
  const [, navigate] = useLocation();
  const [period, setPeriod] = useState(current ?? periods[0] ?? '');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (period !== '') navigate(`/${period}`);
  };
  return (
    <form className="form-row" onSubmit={submit}>
      <div className="field">
        <label htmlFor={`${id}-period`}>Period</label>
        <select id={`${id}-period`} name="period" value={period} onChange={(e) => setPeriod(e.target.value)}>
          {periods.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </div>
      <button type="submit">Open report</button>
    </form>
  );
}

function ReportView() {
  const { period = '' } = useParams<{ period: string }>();
  const api = useApi();
  const index = useReportIndex();
  const report = useQuery({
    queryKey: ['reports', period],
    queryFn: () => api.get<PublishedReport>(`/reports/${encodeURIComponent(period)}/report.json`),
  });
  return (
    <Page title={`Transparency report ${period}`}>
      <p>
        <Link href="/">All reports</Link>
      </p>
      {index.data === undefined || index.data.reports.length === 0 ? null : (
        <PeriodPicker key={period} periods={index.data.reports.map((r) => r.period)} current={period} />
      )}
      {report.isPending ? <Loading what="the report" /> : null}
      <ProblemMessage error={report.error} />
      {report.data === undefined ? null : <ReportBody report={report.data} index={index.data} />}
    </Page>
  );
}

function ReportBody({
  report,
  index,
}: {
  readonly report: PublishedReport;
  readonly index: ReportIndex | undefined;
}) {
  const { legal, privacy } = report;
  const outcomes = legal.byOutcome;
  const rejectedTotal = Object.values(outcomes.rejected).reduce((a, b) => a + b, 0);
  const share = `${legal.rejectedShare.atLeast ? 'at least ' : ''}${legal.rejectedShare.value}%`;
  // The trend: every published period of the same length, oldest first.
  const trend = (index?.reports ?? [])
    .filter((r) => isYear(r.period) === isYear(report.period))
    .map((r) => ({ label: r.period, value: r.requests }))
    .reverse();
  return (
    <>
      <p>
        From {report.from} to {report.to}, counted at checkpoint {formatNumber(report.checkpoint.size)} of the
        control log.
      </p>
      <ul className="counts" aria-label="Headline figures">
        <li>
          <strong>{formatNumber(legal.total)}</strong> requests from authorities
        </li>
        <li>
          <strong>{formatNumber(legal.countries)}</strong> countries
        </li>
        <li>
          <strong>{share}</strong> rejected
        </li>
        <li>
          <strong>{formatNumber(legal.open)}</strong> still open
        </li>
        <li>
          <strong>{formatNumber(privacy.total)}</strong> users' requests
        </li>
      </ul>

      <h2>Requests from authorities</h2>
      <BarChart
        title="Requests by country"
        bars={legal.byCountry.map((c) => ({ label: c.name, value: c.total }))}
      />
      <TableRegion label="Requests by country">
        <table>
          <caption>Requests by country</caption>
          <thead>
            <tr>
              <th scope="col">Country</th>
              <th scope="col" className="num">
                Requests
              </th>
              <th scope="col" className="num">
                User data
              </th>
              <th scope="col" className="num">
                Technical expertise
              </th>
              <th scope="col" className="num">
                Rejected
              </th>
              <th scope="col" className="num">
                Open
              </th>
            </tr>
          </thead>
          <tbody>
            {legal.byCountry.map((c) => (
              <tr key={c.country}>
                <th scope="row">
                  {c.name} ({c.country})
                </th>
                <td className="num">{formatNumber(c.total)}</td>
                <td className="num">{formatNumber(c.byCategory.user_data ?? 0)}</td>
                <td className="num">{formatNumber(c.byCategory.technical_expertise ?? 0)}</td>
                <td className="num">{formatNumber(c.rejected)}</td>
                <td className="num">{formatNumber(c.open)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>

      <BarChart
        title="Outcomes"
        bars={[
          { label: 'Fulfilled', value: outcomes.fulfilled },
          { label: 'Partially fulfilled', value: outcomes.partially_fulfilled },
          { label: 'Rejected', value: rejectedTotal },
          { label: 'Withdrawn', value: outcomes.withdrawn },
          { label: 'Open', value: outcomes.open },
        ]}
      />
      <CountsTable
        caption="Outcomes"
        head="Outcome"
        rows={[
          ['Fulfilled', outcomes.fulfilled],
          ['Partially fulfilled', outcomes.partially_fulfilled],
          ...Object.entries(outcomes.rejected).map(
            ([reason, n]) => [`Rejected: ${labelOf(reason)}`, n] as const,
          ),
          ['Withdrawn', outcomes.withdrawn],
          ['Open', outcomes.open],
        ]}
      />
      <CountsTable
        caption="Requests by kind of authority"
        head="Authority"
        rows={Object.entries(legal.byAuthorityKind).map(([kind, n]) => [labelOf(kind), n] as const)}
      />
      <CountsTable
        caption="Requests by category"
        head="Category"
        rows={Object.entries(legal.byCategory).map(([category, n]) => [labelOf(category), n] as const)}
      />

      {trend.length < 2 ? null : (
        <ColumnChart
          title={`Requests per published ${isYear(report.period) ? 'year' : 'half-year'}`}
          bars={trend}
        />
      )}

      <h2>Compared with {report.previous.period}</h2>
      <TableRegion label={`${report.period} and ${report.previous.period}`}>
        <table>
          <caption>
            {report.period} and {report.previous.period}
          </caption>
          <thead>
            <tr>
              <th scope="col">Figure</th>
              <th scope="col" className="num">
                {report.period}
              </th>
              <th scope="col" className="num">
                {report.previous.period}
              </th>
            </tr>
          </thead>
          <tbody>
            {(
              [
                ['Requests', legal.total, report.previous.legal.total],
                ['Countries', legal.countries, report.previous.legal.countries],
                ['Rejected', legal.rejected, report.previous.legal.rejected],
                ['Open', legal.open, report.previous.legal.open],
                ["Users' requests", privacy.total, report.previous.privacy.total],
              ] as const
            ).map(([label, now, before]) => (
              <tr key={label}>
                <th scope="row">{label}</th>
                <td className="num">{formatNumber(now)}</td>
                <td className="num">{formatNumber(before)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>

      <h2>Users' requests about their own data</h2>
      <TableRegion label="Users' requests by type">
        <table>
          <caption>Users' requests by type</caption>
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col" className="num">
                Requests
              </th>
              <th scope="col" className="num">
                Completed
              </th>
              <th scope="col" className="num">
                Rejected
              </th>
              <th scope="col" className="num">
                Open
              </th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(privacy.byType).map(([type, n]) => {
              const o = privacy.byTypeOutcome[type];
              return (
                <tr key={type}>
                  <th scope="row">{labelOf(type)}</th>
                  <td className="num">{formatNumber(n)}</td>
                  <td className="num">{formatNumber(o?.completed ?? 0)}</td>
                  <td className="num">{formatNumber(o?.rejected ?? 0)}</td>
                  <td className="num">{formatNumber(o?.open ?? 0)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableRegion>

      <h2>Where the data lives</h2>
      <p>
        From the installation registry when the report was made ({formatDateTime(report.generatedAt)}): not in
        the log, so not recomputable from it.
      </p>
      <CountsTable
        caption="Installations by site"
        head="Site"
        rows={report.residency.bySite
          .filter((s) => s.installations > 0)
          .map((s) => [`${s.site} (${s.share}%)`, s.installations] as const)}
      />

      <h2>Checkpoint</h2>
      <dl className="facts">
        <dt>Origin</dt>
        <dd className="mono">{report.checkpoint.origin}</dd>
        <dt>Tree size</dt>
        <dd>{formatNumber(report.checkpoint.size)}</dd>
        <dt>Root hash</dt>
        <dd className="mono">{report.checkpoint.rootHash}</dd>
      </dl>

      <Downloads period={report.period} index={index} />
    </>
  );
}

function CountsTable({
  caption,
  head,
  rows,
}: {
  readonly caption: string;
  readonly head: string;
  readonly rows: readonly (readonly [string, number])[];
}) {
  return (
    <TableRegion label={`${caption}`}>
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{head}</th>
            <th scope="col" className="num">
              Requests
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([label, n]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td className="num">{formatNumber(n)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableRegion>
  );
}

/** The public files of the report: the links work for anyone, signed in or not. */
function Downloads({ period, index }: { readonly period: string; readonly index: ReportIndex | undefined }) {
  const base = `/reports/${period}/`;
  const csv = (index?.files ?? [])
    .filter((f) => f.startsWith(base.slice('/reports/'.length)) && f.endsWith('.csv'))
    .map((f) => f.slice(f.lastIndexOf('/') + 1));
  return (
    <section aria-labelledby="downloads-heading">
      <h2 id="downloads-heading">Downloads</h2>
      <ul className="report-downloads">
        <li>
          <a href={`${base}report.json`} download={`report-${period}.json`}>
            Report as JSON
          </a>
        </li>
        <li>
          <a href={`${base}report.md`} download={`report-${period}.md`}>
            Report as Markdown
          </a>
        </li>
        <li>
          <a href={base}>Report as an HTML page</a>
        </li>
        {csv.map((file) => (
          <li key={file}>
            <a href={`${base}${file}`} download={`${period}-${file}`}>
              Table {file.replace(/\.csv$/, '')} (CSV)
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
