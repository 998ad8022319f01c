import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link, useSearch } from 'wouter';
import { ApiProblem } from '../../api/problem';
import { Field } from '../../components/field';
import { formatBytes, formatDateTime, formatNumber } from '../../components/format';
import { Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { useApi } from '../../session/session';
import { type FeedUpload, feedTypeOf, uploadFeed } from './feed-upload';
import type { BadLine, ImportResult, VerdictSet } from './types';
import { VERDICTS } from './types';
import { VerdictBadge } from './verdict-badge';

/** `/verdicts`: set the verdict on one hash, or import a feed of them. */
export function VerdictsDesk() {
  return (
    <Page title="Verdicts">
      <SetVerdict />
      <ImportFeed />
    </Page>
  );
}

interface VerdictForm {
  hash: string;
  verdict: string;
  threat: string;
  firstSeen: string;
  lastSeen: string;
  source: string;
}

function SetVerdict() {
  const api = useApi();
  const queryClient = useQueryClient();
  const initialHash = new URLSearchParams(useSearch()).get('hash') ?? '';
  const [form, setForm] = useState<VerdictForm>({
    hash: initialHash,
    verdict: 'malicious',
    threat: '',
    firstSeen: '',
    lastSeen: '',
    source: '',
  });
  const set = useMutation({
    mutationFn: (values: VerdictForm) => {
      // Empty optional fields are left out: the server keeps or fills them itself.
      const body: Record<string, string> = { verdict: values.verdict };
      for (const key of ['threat', 'firstSeen', 'lastSeen', 'source'] as const) {
        if (values[key].trim() !== '') body[key] = values[key].trim();
      }
      return api.put<VerdictSet>(`/v1/verdicts/${encodeURIComponent(values.hash.trim())}`, { json: body });
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['analyst', 'verdict'] }),
  });
  const change = (key: keyof VerdictForm) => (event: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [key]: event.target.value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    set.mutate(form);
  };

  return (
    <section aria-labelledby="analyst-set-verdict">
      <h2 id="analyst-set-verdict">Set a verdict</h2>
      <form onSubmit={submit}>
        <Field label="Hash" name="hash" error={set.error} hint="MD5, SHA-1 or SHA-256, in hex">
          {(p) => (
            <input
              {...p}
              className="mono"
              value={form.hash}
              onChange={change('hash')}
              autoComplete="off"
              spellCheck={false}
              required
            />
          )}
        </Field>
        <Field label="Verdict" name="verdict" error={set.error}>
          {(p) => (
            <select {...p} value={form.verdict} onChange={change('verdict')}>
              {VERDICTS.map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Threat" name="threat" error={set.error} hint="e.g. Trojan.Win32.Agent; optional">
          {(p) => <input {...p} value={form.threat} onChange={change('threat')} autoComplete="off" />}
        </Field>
        <Field
          label="First seen"
          name="firstSeen"
          error={set.error}
          hint="YYYY-MM-DD or a date-time with a zone; optional"
        >
          {(p) => <input {...p} value={form.firstSeen} onChange={change('firstSeen')} autoComplete="off" />}
        </Field>
        <Field label="Last seen" name="lastSeen" error={set.error} hint="optional">
          {(p) => <input {...p} value={form.lastSeen} onChange={change('lastSeen')} autoComplete="off" />}
        </Field>
        <Field label="Source" name="source" error={set.error} hint="where the verdict comes from; optional">
          {(p) => <input {...p} value={form.source} onChange={change('source')} autoComplete="off" />}
        </Field>
        <div className="form-row">
          <button type="submit" disabled={set.isPending}>
            Set verdict
          </button>
        </div>
      </form>
      <ProblemMessage error={set.error} />
      {set.data === undefined ? null : <VerdictSetView set={set.data} />}
    </section>
  );
}

function VerdictSetView({ set }: { readonly set: VerdictSet }) {
  return (
    <div className="notice" role="status">
      <p>
        Verdict set: <VerdictBadge verdict={set.verdict} /> {set.threat ?? ''} · first seen{' '}
        {formatDateTime(set.firstSeen)}. It now covers{' '}
        {set.hashes.length === 1 ? 'this hash' : 'these hashes'}:
      </p>
      <ul className="analyst-hash-list">
        {set.hashes.map((h) => (
          <li key={h}>
            <Link href={`~/console/samples/${h}`} className="mono">
              {h}
            </Link>
          </li>
        ))}
      </ul>
    </div>
  );
}

function ImportFeed() {
  const queryClient = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [contentType, setContentType] = useState<FeedUpload['contentType']>('application/x-ndjson');
  const [skipBad, setSkipBad] = useState(false);
  const [source, setSource] = useState('');
  const [progress, setProgress] = useState<{ sent: number; total: number } | null>(null);
  const upload = useMutation({
    mutationFn: (chosen: File) => {
      setProgress({ sent: 0, total: chosen.size });
      return uploadFeed({
        file: chosen,
        contentType,
        skipBad,
        source: source.trim(),
        onProgress: (sent, total) => setProgress({ sent, total }),
      });
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['analyst', 'verdict'] }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (file !== null) upload.mutate(file);
  };

  return (
    <section aria-labelledby="analyst-import">
      <h2 id="analyst-import">Import a feed</h2>
      <p>
        One verdict a line: NDJSON (<code>{'{"hash","verdict","threat",…}'}</code>) or CSV with the header{' '}
        <code>hash,verdict,threat,first_seen,last_seen,source</code>. A feed with a bad line loads nothing,
        unless you choose to skip bad lines.
      </p>
      <form onSubmit={submit}>
        <Field label="Feed file" name="file">
          {(p) => (
            <input
              {...p}
              type="file"
              accept=".ndjson,.jsonl,.json,.csv,application/x-ndjson,text/csv"
              required
              onChange={(e) => {
                const chosen = e.target.files?.[0] ?? null;
                setFile(chosen);
                if (chosen !== null) setContentType(feedTypeOf(chosen.name));
              }}
            />
          )}
        </Field>
        <Field label="Format" name="format">
          {(p) => (
            <select
              {...p}
              value={contentType}
              onChange={(e) => setContentType(e.target.value as FeedUpload['contentType'])}
            >
              <option value="application/x-ndjson">NDJSON</option>
              <option value="text/csv">CSV</option>
            </select>
          )}
        </Field>
        <Field label="Source" name="source" error={upload.error} hint="for lines that name none; optional">
          {(p) => <input {...p} value={source} onChange={(e) => setSource(e.target.value)} />}
        </Field>
        <div className="field">
          <label>
            <input type="checkbox" checked={skipBad} onChange={(e) => setSkipBad(e.target.checked)} /> Skip
            bad lines and load the good ones
          </label>
        </div>
        <div className="form-row">
          <button type="submit" disabled={upload.isPending || file === null}>
            Import feed
          </button>
        </div>
      </form>
      {progress === null ? null : (
        <div className="analyst-progress">
          <label htmlFor="analyst-upload-progress">Upload</label>
          <progress id="analyst-upload-progress" max={Math.max(1, progress.total)} value={progress.sent} />
          <span role="status">
            {formatBytes(progress.sent)} of {formatBytes(progress.total)} sent
            {upload.isPending && progress.sent >= progress.total ? '; the server is loading it…' : ''}
          </span>
        </div>
      )}
      <ProblemMessage error={upload.error} />
      <BadLines lines={refusedLines(upload.error)} />
      {upload.data === undefined ? null : <ImportView result={upload.data} />}
    </section>
  );
}

/** The lines an all-or-nothing import refused (`INVALID_FEED` lists them as `errors`). */
function refusedLines(error: unknown): readonly BadLine[] {
  if (!(error instanceof ApiProblem) || !Array.isArray(error.body.errors)) return [];
  return (error.body.errors as unknown[]).filter(
    (e): e is BadLine => typeof e === 'object' && e !== null && typeof (e as BadLine).line === 'number',
  );
}

function ImportView({ result }: { readonly result: ImportResult }) {
  return (
    <div className="notice" role="status">
      <p>
        Imported: {formatNumber(result.loaded)} of {formatNumber(result.records)} records loaded,{' '}
        {formatNumber(result.bad)} bad.
      </p>
      <dl className="facts">
        <dt>Records</dt>
        <dd>{formatNumber(result.records)}</dd>
        <dt>Loaded</dt>
        <dd>{formatNumber(result.loaded)}</dd>
        <dt>Bad lines</dt>
        <dd>{formatNumber(result.bad)}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(result.bytes)}</dd>
        <dt>SHA-256 of the file</dt>
        <dd className="mono analyst-hash">{result.sha256}</dd>
      </dl>
      <BadLines lines={result.badLines} />
    </div>
  );
}

function BadLines({ lines }: { readonly lines: readonly BadLine[] }) {
  if (lines.length === 0) return null;
  return (
    <>
      <h3>Bad lines</h3>
      <ul className="analyst-bad-lines">
        {lines.map((l) => (
          <li key={l.line}>
            Line {l.line}: {l.message}
          </li>
        ))}
      </ul>
    </>
  );
}
