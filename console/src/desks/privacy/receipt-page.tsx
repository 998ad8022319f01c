import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'wouter';
import { Field } from '../../components/field';
import { formatNumber } from '../../components/format';
import { Loading, Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { useApi } from '../../session/session';
import { type ErasureReceipt, type PrivacyRequest, requestPath, type SiteReceipt } from './privacy-api';
import { type ReceiptCheck, verifyReceiptLog } from './verify-receipt';

/**
 * An erasure's receipt: per site and store what went and what stayed, and the control-log
 * entry of the completion, whose inclusion proof this page checks itself, in the browser.
 */
export function ReceiptPage({ id }: { readonly id: string }) {
  const api = useApi();
  const receipt = useQuery({
    queryKey: ['privacy', 'receipt', id],
    queryFn: ({ signal }) => api.get<PrivacyRequest>(`${requestPath(id)}/receipt`, { signal }),
  });
  if (receipt.isPending) return <Loading what="the receipt" />;
  // Only an erasure's answer is a receipt; the route answers other requests with their own.
  const answer =
    receipt.data?.type === 'erasure' ? (receipt.data.answer as ErasureReceipt | null) : undefined;
  return (
    <Page title="Erasure receipt">
      <p>
        <Link href={`/requests/${id}`}>Back to the request</Link>
      </p>
      <ProblemMessage error={receipt.error} />
      {receipt.isSuccess && (answer === null || answer === undefined) ? (
        <p>This request has no receipt: an erasure has one once it is completed.</p>
      ) : null}
      {answer === null || answer === undefined ? null : (
        <>
          <ProofCheck receipt={answer} />
          <h2>Removed and retained</h2>
          {[...answer.sites, answer.control].map((site) => (
            <SiteSection key={site.site} site={site} />
          ))}
          <LogEntry log={answer.log} />
        </>
      )}
    </Page>
  );
}

function ProofCheck({ receipt }: { readonly receipt: ErasureReceipt }) {
  const [keyInput, setKeyInput] = useState('');
  const [verifierKey, setVerifierKey] = useState<string | undefined>(undefined);
  const check = useQuery({
    queryKey: ['privacy', 'receipt-check', receipt.log, verifierKey],
    queryFn: () => verifyReceiptLog(receipt.log, verifierKey),
    staleTime: Number.POSITIVE_INFINITY,
    retry: false,
  });
  return (
    <section aria-labelledby="privacy-proof">
      <h2 id="privacy-proof">Inclusion proof</h2>
      {check.isPending ? <Loading what="the proof check" /> : null}
      <ProblemMessage error={check.error} />
      {check.data === undefined ? null : <CheckResult result={check.data} />}
      <form
        className="form-row"
        onSubmit={(e) => {
          e.preventDefault();
          setVerifierKey(keyInput.trim() === '' ? undefined : keyInput.trim());
        }}
      >
        <Field
          label="Log verifier key"
          name="verifierKey"
          hint="The control log's public key (name+keyid+key), to check the checkpoint's signature too."
        >
          {(p) => (
            <input
              {...p}
              className="mono"
              autoComplete="off"
              value={keyInput}
              onChange={(e) => setKeyInput(e.target.value)}
            />
          )}
        </Field>
        <button type="submit" className="secondary">
          Check the signature
        </button>
      </form>
    </section>
  );
}

function CheckResult({ result }: { readonly result: ReceiptCheck }) {
  if (!result.ok) {
    return (
      <div className="problem" role="alert">
        <p className="problem-title">The inclusion proof does not verify</p>
        <p>{result.mismatch}</p>
      </div>
    );
  }
  const signature = result.signature;
  return (
    <div className="notice privacy-verified" role="status">
      <p>
        <strong>Inclusion proof verified in this browser</strong>: entry hashed to{' '}
        <code className="privacy-hash">{result.leafHash}</code>, the proof leads to the root{' '}
        <code className="privacy-hash">{result.rootHash}</code> of {result.origin} at{' '}
        {formatNumber(result.treeSize)} entries, the checkpoint's.
      </p>
      <p>
        {signature.status === 'verified'
          ? `Checkpoint signature verified in this browser (key ${signature.keyName}).`
          : signature.status === 'failed'
            ? `The checkpoint signature does not verify: ${signature.why}.`
            : `Checkpoint signature not checked: ${signature.why}.`}
      </p>
    </div>
  );
}

function SiteSection({ site }: { readonly site: SiteReceipt }) {
  const title = site.site === 'control' ? 'Control plane' : `Site ${site.site} (${site.jurisdiction})`;
  return (
    <>
      <h3>{title}</h3>
      <div className="table-wrap">
        <table>
          <caption className="visually-hidden">Removed at {title}</caption>
          <thead>
            <tr>
              <th scope="col">Removed from</th>
              <th scope="col">What</th>
              <th scope="col" className="num">
                Records
              </th>
            </tr>
          </thead>
          <tbody>
            {site.removed.map((r) => (
              <tr key={`${r.store}:${r.what}`}>
                <td>{r.store}</td>
                <td>{r.what}</td>
                <td className="num">{formatNumber(r.records)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="table-wrap">
        <table>
          <caption className="visually-hidden">Retained at {title}</caption>
          <thead>
            <tr>
              <th scope="col">Retained in</th>
              <th scope="col">What</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {site.retained.map((r) => (
              <tr key={`${r.store}:${r.what}`}>
                <td>{r.store}</td>
                <td className="privacy-wrap">{r.what}</td>
                <td>{r.why}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function LogEntry({ log }: { readonly log: ErasureReceipt['log'] }) {
  return (
    <section aria-labelledby="privacy-log">
      <h2 id="privacy-log">The log entry</h2>
      <dl className="facts">
        <dt>Log</dt>
        <dd>{log.node}</dd>
        <dt>Index</dt>
        <dd>{formatNumber(log.index)}</dd>
        <dt>Tree size</dt>
        <dd>{formatNumber(log.treeSize)}</dd>
        <dt>Proof</dt>
        <dd>
          <ol className="privacy-proof">
            {log.proof.map((hash, i) => (
              // The same hash may appear twice in a proof: its place is its identity.
              // biome-ignore lint/suspicious/noArrayIndexKey: positions are the meaning here
              <li key={i}>
                <code className="privacy-hash">{hash}</code>
              </li>
            ))}
          </ol>
        </dd>
      </dl>
      <h3>Entry</h3>
      <pre className="privacy-pre">{log.entry}</pre>
      <h3>Checkpoint</h3>
      <pre className="privacy-pre">{log.checkpoint}</pre>
    </section>
  );
}
