import { useQuery } from '@tanstack/react-query';
import { formatDateTime, formatNumber } from '../../components/format';
import { Loading, Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { TableRegion } from '../../components/table-region';
import { useSession } from '../../session/session';
import type { ResidencyAudit } from './types';

/**
 * The residency audit: every site scanned, every referenced sample decrypted. It reads as much
 * as the samples hold, so it runs when asked, not on every visit.
 */
export function AuditPage() {
  const { api } = useSession();
  const audit = useQuery({
    queryKey: ['residency-audit'],
    queryFn: () => api.get<ResidencyAudit>('/v1/residency/audit'),
    enabled: false,
    gcTime: 0,
  });
  const result = audit.data;
  return (
    <Page
      title="Residency audit"
      actions={
        <button type="button" onClick={() => void audit.refetch()} disabled={audit.isFetching}>
          {result === undefined ? 'Run audit' : 'Run again'}
        </button>
      }
    >
      <p>
        Scans the sites this token reaches: records where the registry and the policy in force say, every
        sample whole, nothing of an installation anywhere else.
      </p>
      {audit.isFetching ? <Loading what="the audit (every sample is read)" /> : null}
      <ProblemMessage error={audit.error} />
      {result === undefined || audit.isFetching ? null : <AuditResult audit={result} />}
    </Page>
  );
}

function AuditResult({ audit }: { readonly audit: ResidencyAudit }) {
  return (
    <>
      <p className={audit.clean ? 'notice' : 'problem'} role="status">
        {audit.clean ? (
          <>
            <span className="badge badge-ok">clean</span> No violation among{' '}
            {formatNumber(audit.installations)} installations
          </>
        ) : (
          <>
            <span className="badge badge-danger">violations</span> {formatNumber(audit.violations.length)}{' '}
            violations among {formatNumber(audit.installations)} installations
          </>
        )}{' '}
        (policy version {audit.policyVersion ?? 'none'}, {formatDateTime(audit.at)}).
      </p>
      {audit.violations.length === 0 ? null : (
        <TableRegion label="Violations">
          <table aria-label="Violations">
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Site</th>
                <th scope="col">Installation</th>
                <th scope="col">SHA-256</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {audit.violations.map((v) => (
                <tr key={`${v.kind}:${v.site}:${v.installation ?? ''}:${v.sha256 ?? ''}:${v.detail}`}>
                  <td>
                    <code>{v.kind}</code>
                  </td>
                  <td>{v.site}</td>
                  <td className="mono">{v.installation ?? '—'}</td>
                  <td className="mono">{v.sha256 ?? '—'}</td>
                  <td>{v.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
      <TableRegion label="Sites">
        <table aria-label="What each site holds">
          <thead>
            <tr>
              <th scope="col">Site</th>
              <th scope="col" className="num">
                Installations
              </th>
              <th scope="col" className="num">
                Submissions
              </th>
              <th scope="col" className="num">
                Events
              </th>
              <th scope="col" className="num">
                Samples referenced
              </th>
              <th scope="col" className="num">
                Samples unreferenced
              </th>
            </tr>
          </thead>
          <tbody>
            {audit.sites.map((s) => (
              <tr key={s.site}>
                <th scope="row">{s.site}</th>
                <td className="num">{formatNumber(s.installations)}</td>
                <td className="num">{formatNumber(s.submissions)}</td>
                <td className="num">{formatNumber(s.events)}</td>
                <td className="num">{formatNumber(s.samplesReferenced)}</td>
                <td className="num">{formatNumber(s.samplesUnreferenced)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>
    </>
  );
}
