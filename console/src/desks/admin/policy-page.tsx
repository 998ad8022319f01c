import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Field } from '../../components/field';
import { formatDateTime } from '../../components/format';
import { Loading, Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { TableRegion } from '../../components/table-region';
import { useSession } from '../../session/session';
import { PolicyVersionForm } from './policy-form';
import { countriesOf, siteOf, startOfDay, today, versionAt } from './residency';
import type { Policy, PolicyVersion, Resolution } from './types';

/** The residency policy: its versions in time, where each country's data goes at a date, a new version. */
export function PolicyPage() {
  const { api, session } = useSession();
  const policy = useQuery({ queryKey: ['policy'], queryFn: () => api.get<Policy>('/v1/policy') });
  return (
    <Page title="Residency policy">
      {policy.isPending ? <Loading what="the policy" /> : null}
      <ProblemMessage error={policy.error} />
      {policy.data === undefined ? null : (
        <>
          <Timeline policy={policy.data} />
          <CountryTable policy={policy.data} />
          <ResolveCountry />
          {session?.sites === '*' ? (
            <PolicyVersionForm policy={policy.data} />
          ) : (
            <p className="notice">Only an admin of every site adds policy versions.</p>
          )}
        </>
      )}
    </Page>
  );
}

function Timeline({ policy }: { readonly policy: Policy }) {
  const newestFirst = [...policy.versions].reverse();
  return (
    <section aria-labelledby="versions">
      <h2 id="versions">Versions</h2>
      {newestFirst.length === 0 ? (
        <p>No version yet: every country goes nowhere until one is added.</p>
      ) : null}
      <ol className="timeline" reversed>
        {newestFirst.map((v) => (
          <li key={v.version}>
            <strong>
              Version {v.version} · from {formatDateTime(v.effectiveFrom)}
            </strong>{' '}
            {v.version === policy.inForce ? <span className="badge badge-ok">in force</span> : null}
            {new Date(v.effectiveFrom).getTime() > Date.now() ? (
              <span className="badge badge-warn">scheduled</span>
            ) : null}
            <br />
            Default: {v.default}
            <ul>
              {v.assign.map((a) => (
                <li key={`${a.site}:${a.regions.join()}:${a.countries.join()}`}>
                  {[...a.regions, ...a.countries].join(', ')} → {a.site}
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ol>
    </section>
  );
}

function CountryTable({ policy }: { readonly policy: Policy }) {
  const [date, setDate] = useState(today);
  const at = startOfDay(date);
  const version: PolicyVersion | undefined = Number.isNaN(at.getTime()) ? undefined : versionAt(policy, at);
  return (
    <section aria-labelledby="countries">
      <h2 id="countries">Where each country's data goes</h2>
      <Field label="At the start of (UTC)" name="at">
        {(p) => <input {...p} type="date" value={date} required onChange={(e) => setDate(e.target.value)} />}
      </Field>
      {version === undefined ? (
        <p role="status">No version is in force on {date}.</p>
      ) : (
        <>
          <p role="status">
            Version {version.version} in force on {date}; every country not listed goes to {version.default}.
          </p>
          <TableRegion label="Countries">
            <table aria-label={`Country to site on ${date}`}>
              <thead>
                <tr>
                  <th scope="col">Country</th>
                  <th scope="col">Site</th>
                  <th scope="col">Rule</th>
                </tr>
              </thead>
              <tbody>
                {countriesOf(policy).map((country) => {
                  const row = siteOf(policy, version, country);
                  return (
                    <tr key={country}>
                      <td>{country}</td>
                      <td>{row.site}</td>
                      <td>{row.rule}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableRegion>
        </>
      )}
    </section>
  );
}

/** Any other country, asked of the server. */
function ResolveCountry() {
  const { api } = useSession();
  const [country, setCountry] = useState('');
  const [date, setDate] = useState(today);
  const [asked, setAsked] = useState<{ country: string; at: string } | null>(null);
  const resolution = useQuery({
    queryKey: ['policy', 'resolve', asked],
    queryFn: () => api.get<Resolution>('/v1/policy/resolve', { query: asked ?? {} }),
    enabled: asked !== null,
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setAsked({ country: country.trim().toUpperCase(), at: date });
  };
  return (
    <section aria-labelledby="resolve">
      <h2 id="resolve">Look up a country</h2>
      <form onSubmit={submit} className="form-row">
        <Field label="Country code" name="country" error={resolution.error}>
          {(p) => <input {...p} value={country} maxLength={8} onChange={(e) => setCountry(e.target.value)} />}
        </Field>
        <Field label="On (UTC)" name="at" error={resolution.error}>
          {(p) => <input {...p} type="date" value={date} onChange={(e) => setDate(e.target.value)} />}
        </Field>
        <button type="submit">Look up</button>
      </form>
      <ProblemMessage error={resolution.error} />
      {resolution.data === undefined ? null : (
        <p role="status">
          {resolution.data.country} → <strong>{resolution.data.site}</strong> (version{' '}
          {resolution.data.version}, {resolution.data.rule.kind}
          {resolution.data.rule.region === undefined ? '' : ` ${resolution.data.rule.region}`})
        </p>
      )}
    </section>
  );
}
