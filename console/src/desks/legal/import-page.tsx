import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link } from 'wouter';
import { ApiProblem } from '../../api/problem';
import { Field } from '../../components/field';
import { formatDateTime, formatNumber } from '../../components/format';
import { Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { useApi } from '../../session/session';
import { LEGAL_KEY } from './legal-model';

interface ImportAnswer {
  readonly imported: number;
  readonly open: number;
  readonly sha256: string;
}

interface BadRow {
  readonly line: number;
  readonly message: string;
}

/** The bad rows a 400 `INVALID_LEGAL_HISTORY` lists (the first hundred), by line. */
function badRowsOf(error: unknown): BadRow[] {
  if (!(error instanceof ApiProblem) || !Array.isArray(error.body.errors)) return [];
  return (error.body.errors as unknown[]).flatMap((e) => {
    const { line, message } = (e ?? {}) as { line?: unknown; message?: unknown };
    return typeof line === 'number' ? [{ line, message: String(message ?? '') }] : [];
  });
}

/** Past requests from a CSV file: all rows or none; a file loaded before only on purpose. */
export function ImportPage() {
  const api = useApi();
  const queryClient = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const upload = useMutation({
    mutationFn: ({ csv, again }: { csv: File; again: boolean }) =>
      api.post<ImportAnswer>('/v1/legal-requests/import', {
        body: csv,
        contentType: 'text/csv',
        query: again ? { again: true } : {},
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: LEGAL_KEY }),
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (file !== null) upload.mutate({ csv: file, again: false });
  };
  const error = upload.error;
  const badRows = badRowsOf(error);
  const already = error instanceof ApiProblem && error.code === 'LEGAL_HISTORY_ALREADY_IMPORTED';

  return (
    <Page title="Import history">
      <p>
        <Link href="/">Back to the queue</Link>
      </p>
      <p>
        A CSV file of the organisation's past requests, with the header{' '}
        <code>received_at,requester_country,authority_kind,category,outcome,reason,closed_at</code>. A request
        still open leaves <code>outcome</code>, <code>reason</code> and <code>closed_at</code> empty and
        enters the queue as received. If any row is bad, nothing is loaded.
      </p>
      <form onSubmit={onSubmit} aria-label="Import history">
        <Field label="CSV file" name="file">
          {(p) => (
            <input
              {...p}
              type="file"
              accept=".csv,text/csv"
              onChange={(e) => {
                setFile(e.target.files?.[0] ?? null);
                upload.reset();
              }}
            />
          )}
        </Field>
        <button type="submit" disabled={file === null || upload.isPending}>
          Import
        </button>
      </form>
      {upload.isSuccess ? (
        <p className="notice" role="status">
          Imported {formatNumber(upload.data.imported)} request(s), {formatNumber(upload.data.open)} of them
          still open. File SHA-256 <span className="mono">{upload.data.sha256}</span>.
        </p>
      ) : null}
      <ProblemMessage error={error} />
      {badRows.length === 0 ? null : (
        <div className="table-wrap">
          <table>
            <caption>Bad rows, by line of the file</caption>
            <thead>
              <tr>
                <th scope="col" className="num">
                  Line
                </th>
                <th scope="col">What is wrong</th>
              </tr>
            </thead>
            <tbody>
              {badRows.map((row) => (
                <tr key={`${row.line}:${row.message}`}>
                  <td className="num">{row.line}</td>
                  <td>{row.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {already && file !== null ? (
        <div className="notice">
          <p>
            This file was imported before
            {typeof error.body.importedAt === 'string' ? ` (${formatDateTime(error.body.importedAt)})` : ''}.
            Importing it again loads its rows once more, as new requests.
          </p>
          <button
            type="button"
            className="secondary"
            disabled={upload.isPending}
            onClick={() => upload.mutate({ csv: file, again: true })}
          >
            Import again
          </button>
        </div>
      ) : null}
    </Page>
  );
}
