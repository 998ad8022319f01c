import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useState } from 'react';
import { Link, Route, Switch, useLocation } from 'wouter';
import { ApiProblem } from '../../api/problem';
import { Field } from '../../components/field';
import { formatBytes, formatDateTime, formatNumber, saveBlob } from '../../components/format';
import { Loading, Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { useApi } from '../../session/session';
import type { SampleDescription, VerdictAnswer } from './types';
import { VerdictBadge } from './verdict-badge';

/** `/samples`: look a hash up; `/samples/{hash}`: what the token's sites know of it. */
export function SamplesDesk() {
  return (
    <Switch>
      <Route path="/">
        <SamplePage hash={null} />
      </Route>
      <Route path="/:hash">{(params) => <SamplePage key={params.hash} hash={params.hash} />}</Route>
    </Switch>
  );
}

const SHA512_LENGTH = 128;

function SamplePage({ hash }: { readonly hash: string | null }) {
  const api = useApi();
  const [, navigate] = useLocation();
  const [text, setText] = useState(hash ?? '');
  const sample = useQuery({
    queryKey: ['analyst', 'sample', hash],
    queryFn: ({ signal }) =>
      api.get<SampleDescription>(`/v1/samples/${encodeURIComponent(hash!)}`, { signal }),
    enabled: hash !== null,
    retry: false,
  });
  // Verdicts are kept by MD5, SHA-1 and SHA-256: a known sample is asked by its SHA-256 (so a
  // SHA-512 look-up gets its verdict too); a hash no site holds may still have one from a feed.
  const notHeld = sample.error instanceof ApiProblem && sample.error.status === 404;
  const verdictHash =
    sample.data?.sha256 ?? (notHeld && hash !== null && hash.length !== SHA512_LENGTH ? hash : null);
  const verdict = useQuery({
    queryKey: ['analyst', 'verdict', verdictHash],
    queryFn: ({ signal }) =>
      api.get<VerdictAnswer>(`/v1/verdicts/${encodeURIComponent(verdictHash!)}`, { signal }),
    enabled: verdictHash !== null,
    retry: false,
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const wanted = text.trim();
    if (wanted !== '') navigate(`/${encodeURIComponent(wanted)}`);
  };

  return (
    <Page title="Samples">
      <form onSubmit={submit} className="analyst-lookup" aria-label="Look up a hash">
        <Field label="Hash" name="hash" error={sample.error} hint="MD5, SHA-1, SHA-256 or SHA-512, in hex">
          {(p) => (
            <input
              {...p}
              className="mono"
              value={text}
              onChange={(e) => setText(e.target.value)}
              autoComplete="off"
              spellCheck={false}
              required
            />
          )}
        </Field>
        <div className="form-row">
          <button type="submit">Look up</button>
        </div>
      </form>
      {hash === null ? null : sample.isPending ? (
        <Loading what="the sample" />
      ) : (
        <>
          <ProblemMessage error={sample.error} />
          {notHeld && verdictHash !== null ? <VerdictSection hash={verdictHash} query={verdict} /> : null}
          {sample.data === undefined ? null : (
            <SampleView
              sample={sample.data}
              verdict={<VerdictSection hash={sample.data.sha256} query={verdict} />}
            />
          )}
        </>
      )}
    </Page>
  );
}

function VerdictSection({
  hash,
  query,
}: {
  readonly hash: string;
  readonly query: { data?: VerdictAnswer | undefined; error: unknown; isPending: boolean };
}) {
  return (
    <section aria-labelledby="analyst-verdict">
      <h2 id="analyst-verdict">Verdict</h2>
      {query.isPending ? <Loading what="the verdict" /> : null}
      <ProblemMessage error={query.error} />
      {query.data === undefined ? null : (
        <p>
          <VerdictBadge verdict={query.data.verdict} />{' '}
          {query.data.threat === null ? null : <strong>{query.data.threat}</strong>}
          {query.data.firstSeen === null ? null : <> · first seen {formatDateTime(query.data.firstSeen)}</>}
        </p>
      )}
      <p>
        <Link href={`~/console/verdicts?hash=${encodeURIComponent(hash)}`}>Set verdict</Link>
      </p>
    </section>
  );
}

function SampleView({
  sample,
  verdict,
}: {
  readonly sample: SampleDescription;
  readonly verdict: ReactNode;
}) {
  const submissions = sample.sites.reduce((sum, s) => sum + s.submissions, 0);
  return (
    <>
      {verdict}
      <section aria-labelledby="analyst-sites">
        <h2 id="analyst-sites">Sites</h2>
        {sample.unavailableSites.length === 0 ? null : (
          <p className="notice">
            Did not answer (the sample may be there too): {sample.unavailableSites.join(', ')}
          </p>
        )}
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Site</th>
                <th scope="col">First seen</th>
                <th scope="col">Last seen</th>
                <th scope="col" className="num">
                  Submissions
                </th>
              </tr>
            </thead>
            <tbody>
              {sample.sites.map((s) => (
                <tr key={s.site}>
                  <th scope="row">{s.site}</th>
                  <td>{formatDateTime(s.firstSeen)}</td>
                  <td>{formatDateTime(s.lastSeen)}</td>
                  <td className="num">{formatNumber(s.submissions)}</td>
                </tr>
              ))}
            </tbody>
            {sample.sites.length > 1 ? (
              <tfoot>
                <tr>
                  <th scope="row" colSpan={3}>
                    All sites
                  </th>
                  <td className="num">{formatNumber(submissions)}</td>
                </tr>
              </tfoot>
            ) : null}
          </table>
        </div>
      </section>
      <DownloadSection sample={sample} />
      <section aria-labelledby="analyst-hashes">
        <h2 id="analyst-hashes">Hashes</h2>
        <dl className="facts analyst-hashes">
          <dt>SHA-256</dt>
          <dd className="mono">{sample.sha256}</dd>
          <dt>SHA-1</dt>
          <dd className="mono">{sample.sha1}</dd>
          <dt>MD5</dt>
          <dd className="mono">{sample.md5}</dd>
          <dt>SHA-512</dt>
          <dd className="mono">{sample.sha512}</dd>
          <dt>Size</dt>
          <dd>
            {formatBytes(sample.size)} ({formatNumber(sample.size)} bytes)
          </dd>
          {sample.ssdeep === null ? null : (
            <>
              <dt>ssdeep</dt>
              <dd className="mono">{sample.ssdeep}</dd>
            </>
          )}
          {sample.tlsh === null ? null : (
            <>
              <dt>TLSH</dt>
              <dd className="mono">{sample.tlsh}</dd>
            </>
          )}
        </dl>
      </section>
    </>
  );
}

function DownloadSection({ sample }: { readonly sample: SampleDescription }) {
  const api = useApi();
  const [site, setSite] = useState('');
  const download = useMutation({
    mutationFn: async () => {
      const blob = await api.blob(`/v1/samples/${sample.sha256}/download`, { query: { site } });
      saveBlob(blob, `${sample.sha256}.zip`);
    },
  });
  return (
    <section aria-labelledby="analyst-download">
      <h2 id="analyst-download">Download</h2>
      <p>
        The sample comes as a zip encrypted with AES-256. Its password is <code>infected</code>. Every
        download is logged.
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          download.mutate();
        }}
      >
        {sample.sites.length > 1 ? (
          <Field label="From site" name="site" error={download.error}>
            {(p) => (
              <select {...p} value={site} onChange={(e) => setSite(e.target.value)}>
                <option value="">Any</option>
                {sample.sites.map((s) => (
                  <option key={s.site} value={s.site}>
                    {s.site}
                  </option>
                ))}
              </select>
            )}
          </Field>
        ) : null}
        <div className="form-row">
          <button type="submit" disabled={download.isPending}>
            Download
          </button>
          {download.isSuccess ? (
            <span role="status" className="analyst-hash">
              Saved {sample.sha256}.zip
            </span>
          ) : null}
        </div>
      </form>
      <ProblemMessage error={download.error} />
    </section>
  );
}
