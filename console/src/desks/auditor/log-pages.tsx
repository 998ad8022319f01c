import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { Link, Route, Switch, useParams } from 'wouter';
import { CopyButton } from '../../components/copy-button';
import { formatNumber } from '../../components/format';
import { Loading, Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { TableRegion } from '../../components/table-region';
import { toBase64, toHex } from '../../ledger/merkle';
import {
  parseSignedCheckpoint,
  parseVerifierKey,
  type SignatureCheck,
  type SignedCheckpoint,
  verifyCheckpointSignature,
} from '../../ledger/note';
import {
  bundleOfEntry,
  checkInclusion,
  decodeEntryBundle,
  entriesPath,
  type InclusionCheck,
  TILE_WIDTH,
  TileHashReader,
} from '../../ledger/tiles';
import { useApi, useSession } from '../../session/session';
import { fetchCheckpoint, fetchInclusionProof, fetchLogFile, logNodes } from './log-api';

/** Entries shown on one page of the explorer. */
export const ENTRIES_PER_PAGE = 20;

/** `/log`: the nodes; `/log/<node>`: that node's explorer. */
export function LogDesk() {
  return (
    <Switch>
      <Route path="/" component={LogNodes} />
      <Route path="/:node" component={LogExplorer} />
    </Switch>
  );
}

function LogNodes() {
  const api = useApi();
  const nodes = useQuery({ queryKey: ['log', 'nodes'], queryFn: () => logNodes(api) });
  return (
    <Page title="Transparency log">
      <p>
        Every node keeps its own append-only Merkle log of everything sensitive it does and publishes it for
        anyone. Pick a node to read its latest signed checkpoint, page through its entries and check an
        entry's inclusion proof here, in your browser.
      </p>
      {nodes.isPending ? <Loading what="the nodes" /> : null}
      <ProblemMessage error={nodes.error} />
      {nodes.data === undefined ? null : (
        <ul className="desk-list">
          {nodes.data.map((node) => (
            <li key={node}>
              <Link href={`/${node}`}>{node === 'control' ? 'control (the control plane)' : node}</Link>
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}

function LogExplorer() {
  const { node = '' } = useParams<{ node: string }>();
  const api = useApi();
  const checkpoint = useQuery({
    queryKey: ['log', node, 'checkpoint'],
    queryFn: async () => {
      const note = await fetchCheckpoint(api, node);
      return { note, parsed: parseSignedCheckpoint(note) };
    },
  });
  return (
    <Page title={`Transparency log: ${node}`}>
      <p>
        <Link href="/">All nodes</Link>
      </p>
      {checkpoint.isPending ? <Loading what="the checkpoint" /> : null}
      <ProblemMessage error={checkpoint.error} />
      {checkpoint.data === undefined ? null : (
        <Explorer node={node} note={checkpoint.data.note} checkpoint={checkpoint.data.parsed} />
      )}
    </Page>
  );
}

function Explorer({
  node,
  note,
  checkpoint,
}: {
  readonly node: string;
  readonly note: string;
  readonly checkpoint: SignedCheckpoint;
}) {
  const [signature, setSignature] = useState<SignatureCheck | null>(null);
  return (
    <>
      <section aria-labelledby="checkpoint-heading">
        <h2 id="checkpoint-heading">Latest checkpoint</h2>
        <dl className="facts">
          <dt>Origin</dt>
          <dd className="mono">{checkpoint.origin}</dd>
          <dt>Tree size</dt>
          <dd>{formatNumber(checkpoint.treeSize)} entries</dd>
          <dt>Root hash</dt>
          <dd className="mono">{checkpoint.rootHashBase64}</dd>
          <dt>Signatures</dt>
          <dd>
            <ul className="signature-lines">
              {checkpoint.signatures.map((s) => (
                <li key={s.line} className="mono">
                  {s.line}
                </li>
              ))}
            </ul>
          </dd>
        </dl>
        <p>
          <CopyButton text={note} label="Copy the checkpoint" />
        </p>
        <SignatureForm checkpoint={checkpoint} result={signature} onResult={setSignature} />
      </section>
      <Entries node={node} checkpoint={checkpoint} signature={signature} />
      <section aria-labelledby="scope-heading">
        <h2 id="scope-heading">What this page checks</h2>
        <ul>
          <li>
            The checkpoint's Ed25519 signature, with the key you give, in this browser (WebCrypto); a
            signature by any other key (a witness) is listed, not checked.
          </li>
          <li>
            For each entry you ask: its leaf hash, computed here from the bytes of the entry bundle, and an
            audit path {'—'} built from the public hash tiles, or for an auditor fetched from the proof route
            {' —'} that must lead to the checkpoint's root hash.
          </li>
        </ul>
        <p>
          Not checked here: that this checkpoint extends the ones you saw before, and every tile of the tree.
          For those, run <code>glasshouse ledger verify --from-checkpoint OLD</code>, which recomputes the
          whole tree from the entries.
        </p>
      </section>
    </>
  );
}

function SignatureForm({
  checkpoint,
  result,
  onResult,
}: {
  readonly checkpoint: SignedCheckpoint;
  readonly result: SignatureCheck | null;
  readonly onResult: (result: SignatureCheck | null) => void;
}) {
  const id = useId();
  const [key, setKey] = useState('');
  const verify = useMutation({
    mutationFn: async (text: string) => verifyCheckpointSignature(checkpoint, await parseVerifierKey(text)),
    onSuccess: onResult,
    onError: () => onResult(null),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    verify.mutate(key);
  };
  return (
    <form onSubmit={submit} className="log-key-form">
      <div className="field">
        <label htmlFor={`${id}-key`}>Verifier key of {checkpoint.origin}</label>
        <input
          id={`${id}-key`}
          name="key"
          className="mono"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          placeholder="name+hhhhhhhh+base64"
          aria-describedby={`${id}-hint`}
          autoComplete="off"
          spellCheck={false}
        />
        <p className="hint" id={`${id}-hint`}>
          As the node's operator prints it with <code>glasshouse ledger key --node NAME</code>, obtained from
          them out of band (not from this server, which could give any key).
        </p>
      </div>
      <button type="submit" disabled={key.trim() === '' || verify.isPending}>
        Verify signature
      </button>
      <div role="status" className="log-result">
        {verify.error === null ? null : (
          <p className="badge badge-danger">
            Not checked: {verify.error instanceof Error ? verify.error.message : String(verify.error)}
          </p>
        )}
        {result === null ? (
          verify.error === null ? (
            <p>
              Not checked yet: without the node's verifier key, nothing here shows that the node signed this
              checkpoint.
            </p>
          ) : null
        ) : (
          <SignatureOutcome result={result} />
        )}
      </div>
    </form>
  );
}

function SignatureOutcome({ result }: { readonly result: SignatureCheck }) {
  switch (result.outcome) {
    case 'verified':
      return (
        <p>
          <span className="badge badge-ok">Signature verified</span> The checkpoint is signed by{' '}
          <code>{result.by}</code> (Ed25519, checked in this browser).
        </p>
      );
    case 'invalid':
      return (
        <p>
          <span className="badge badge-danger">Signature invalid</span> The signature by{' '}
          <code>{result.by}</code> does not verify: the checkpoint was changed, or the key is wrong.
        </p>
      );
    default:
      return (
        <p>
          <span className="badge badge-danger">Signature not verified</span> The checkpoint is signed by{' '}
          {result.signers.join(', ') || 'no key'}, but the key given is <code>{result.key}</code>.
        </p>
      );
  }
}

interface LogEntry {
  readonly index: number;
  readonly bytes: Uint8Array;
  readonly text: string;
  readonly type: string;
  readonly time: string;
  readonly bundlePath: string;
}

function describeEntry(index: number, bytes: Uint8Array, bundlePath: string): LogEntry {
  const text = new TextDecoder().decode(bytes);
  let type = '(not JSON)';
  let time = '';
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>;
      type = typeof record.type === 'string' ? record.type : '(no type)';
      time = typeof record.time === 'string' ? record.time : '';
    }
  } catch {
    // Shown as the text it is.
  }
  return { index, bytes, text, type, time, bundlePath };
}

function Entries({
  node,
  checkpoint,
  signature,
}: {
  readonly node: string;
  readonly checkpoint: SignedCheckpoint;
  readonly signature: SignatureCheck | null;
}) {
  const api = useApi();
  const size = checkpoint.treeSize;
  const pages = Math.max(1, Math.ceil(size / ENTRIES_PER_PAGE));
  const [page, setPage] = useState(0);
  const first = page * ENTRIES_PER_PAGE;
  const last = Math.min(size, first + ENTRIES_PER_PAGE);
  const entries = useQuery({
    queryKey: ['log', node, 'entries', size, first],
    enabled: size > 0,
    queryFn: async () => {
      const bundles = new Set<number>();
      for (let i = first; i < last; i++) bundles.add(Math.floor(i / TILE_WIDTH));
      const out: LogEntry[] = [];
      for (const n of bundles) {
        const { width } = bundleOfEntry(n * TILE_WIDTH, size);
        const path = entriesPath(n, width);
        const decoded = decodeEntryBundle(await fetchLogFile(api, node, path));
        if (decoded.length !== width)
          throw new Error(`${path} holds ${decoded.length} entries, not ${width}`);
        decoded.forEach((bytes, i) => {
          const index = n * TILE_WIDTH + i;
          if (index >= first && index < last) out.push(describeEntry(index, bytes, path));
        });
      }
      return out;
    },
  });
  return (
    <section aria-labelledby="entries-heading">
      <h2 id="entries-heading">Entries</h2>
      {size === 0 ? (
        <p>This log has no entries yet.</p>
      ) : (
        <>
          <nav className="form-row pager" aria-label="Pages of entries">
            <button
              type="button"
              className="secondary"
              disabled={page === 0}
              onClick={() => setPage(page - 1)}
            >
              Previous entries
            </button>
            <span aria-live="polite">
              Entries {formatNumber(first)}–{formatNumber(last - 1)} of {formatNumber(size)} (page {page + 1}{' '}
              of {pages})
            </span>
            <button
              type="button"
              className="secondary"
              disabled={page >= pages - 1}
              onClick={() => setPage(page + 1)}
            >
              Next entries
            </button>
          </nav>
          {entries.isPending ? <Loading what="the entries" /> : null}
          <ProblemMessage error={entries.error} />
          {entries.data === undefined ? null : (
            <TableRegion label={`Entries ${first} to ${last - 1}`}>
              <table className="log-entries">
                <caption className="visually-hidden">
                  Entries {first} to {last - 1} of the log of {node}
                </caption>
                <thead>
                  <tr>
                    <th scope="col" className="num">
                      Index
                    </th>
                    <th scope="col">Type</th>
                    <th scope="col">Entry, as the log stores it</th>
                    <th scope="col">Inclusion</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.data.map((entry) => (
                    <EntryRow
                      key={entry.index}
                      node={node}
                      entry={entry}
                      checkpoint={checkpoint}
                      signature={signature}
                    />
                  ))}
                </tbody>
              </table>
            </TableRegion>
          )}
        </>
      )}
    </section>
  );
}

function EntryRow({
  node,
  entry,
  checkpoint,
  signature,
}: {
  readonly node: string;
  readonly entry: LogEntry;
  readonly checkpoint: SignedCheckpoint;
  readonly signature: SignatureCheck | null;
}) {
  const api = useApi();
  const { session } = useSession();
  const viaProofRoute = session?.role === 'auditor';
  const verify = useMutation({
    mutationFn: async (): Promise<InclusionCheck> => {
      const from = viaProofRoute
        ? {
            proof: await fetchInclusionProof(api, node, entry.index, checkpoint.treeSize),
            source: `GET /v1/log/${node}/proof/inclusion`,
          }
        : new TileHashReader(checkpoint.treeSize, (path) => fetchLogFile(api, node, path));
      return checkInclusion({
        entry: entry.bytes,
        index: entry.index,
        treeSize: checkpoint.treeSize,
        root: checkpoint.rootHash,
        bundlePath: entry.bundlePath,
        from,
      });
    },
  });
  return (
    <tr>
      <td className="num">{entry.index}</td>
      <td>
        <code>{entry.type}</code>
        {entry.time === '' ? null : <div className="hint">{entry.time}</div>}
      </td>
      <td>
        <pre className="log-entry">{entry.text}</pre>
      </td>
      <td className="log-inclusion">
        <button
          type="button"
          className="secondary"
          onClick={() => verify.mutate()}
          disabled={verify.isPending}
          aria-label={`Verify inclusion of entry ${entry.index}`}
        >
          Verify inclusion
        </button>
        <div role="status">
          {verify.isPending ? <p>Checking…</p> : null}
          {verify.data === undefined ? null : (
            <InclusionOutcome check={verify.data} checkpoint={checkpoint} signature={signature} />
          )}
          {verify.error === null ? null : <InclusionFailure error={verify.error} index={entry.index} />}
        </div>
      </td>
    </tr>
  );
}

function InclusionOutcome({
  check,
  checkpoint,
  signature,
}: {
  readonly check: InclusionCheck;
  readonly checkpoint: SignedCheckpoint;
  readonly signature: SignatureCheck | null;
}) {
  return (
    <div className="log-check">
      <p>
        <span className="badge badge-ok">Inclusion verified</span>
      </p>
      <p>Checked here:</p>
      <ul className="log-steps">
        <li>
          leaf hash SHA-256(0x00 ‖ entry) ={' '}
          <code title={toBase64(check.leafHash)}>{toHex(check.leafHash).slice(0, 16)}…</code>
        </li>
        <li>
          an audit path of {check.proof.length} hash{check.proof.length === 1 ? '' : 'es'} from{' '}
          {check.source.join(', ') || 'no tile (a tree of one entry)'} leads to the checkpoint's root hash of{' '}
          {formatNumber(checkpoint.treeSize)} entries
        </li>
      </ul>
      <p>
        {signature?.outcome === 'verified'
          ? `The checkpoint's signature by ${signature.by} was verified too, so the entry is in the log that key signed.`
          : "Not checked: the checkpoint's signature. Give the node's verifier key above; until then this shows the entry is in the tree this server's checkpoint describes, not that the node signed it."}
      </p>
    </div>
  );
}

function InclusionFailure({ error, index }: { readonly error: unknown; readonly index: number }) {
  if (error instanceof Error && error.name === 'TileCheckError') {
    return (
      <div className="problem" role="alert">
        <p className="problem-title">Inclusion not verified</p>
        <p>{error.message}</p>
      </div>
    );
  }
  return (
    <div>
      <p className="badge badge-danger">Inclusion of entry {index} not verified</p>
      <ProblemMessage error={error} />
    </div>
  );
}
