import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { CopyButton } from '../../components/copy-button';
import { Field } from '../../components/field';
import { formatDateTime } from '../../components/format';
import { Loading, Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { TableRegion } from '../../components/table-region';
import { useSession } from '../../session/session';
import { StateBadge } from './state-badge';
import type { CreatedToken, Policy, TokenInfo } from './types';

const ROLES = ['product', 'analyst', 'legal', 'privacy', 'auditor', 'admin'] as const;

/** Tokens: make one (its secret shown once), review them, revoke one. */
export function TokensPage() {
  return (
    <Page title="Tokens">
      <CreateToken />
      <TokenList />
    </Page>
  );
}

function CreateToken() {
  const { api } = useSession();
  const queryClient = useQueryClient();
  // The configured sites, as the policy lists them.
  const policy = useQuery({ queryKey: ['policy'], queryFn: () => api.get<Policy>('/v1/policy') });
  const [role, setRole] = useState<string>('analyst');
  const [person, setPerson] = useState('');
  const [expires, setExpires] = useState('');
  const [label, setLabel] = useState('');
  const [sites, setSites] = useState<string[]>([]);
  const create = useMutation({
    mutationFn: () =>
      api.post<CreatedToken>('/v1/tokens', {
        json: {
          role,
          ...(person.trim() === '' ? {} : { person: person.trim() }),
          ...(expires.trim() === '' ? {} : { expires: expires.trim() }),
          ...(sites.length === 0 ? {} : { sites }),
          ...(label.trim() === '' ? {} : { label: label.trim() }),
        },
      }),
    onSuccess: () => {
      setPerson('');
      setExpires('');
      setLabel('');
      setSites([]);
      void queryClient.invalidateQueries({ queryKey: ['tokens'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  const toggle = (site: string, on: boolean) =>
    setSites((current) => (on ? [...current, site] : current.filter((s) => s !== site)));
  return (
    <section aria-labelledby="create">
      <h2 id="create">Create a token</h2>
      <form onSubmit={submit} className="admin-form">
        <div className="form-row">
          <Field label="Role" name="role" error={create.error}>
            {(p) => (
              <select {...p} value={role} onChange={(e) => setRole(e.target.value)}>
                {ROLES.map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Person" name="person" error={create.error} hint="Required for legal and privacy.">
            {(p) => (
              <input {...p} value={person} maxLength={200} onChange={(e) => setPerson(e.target.value)} />
            )}
          </Field>
          <Field
            label="Expires"
            name="expires"
            error={create.error}
            hint="90d, 12h, 26w or a date; empty: never."
          >
            {(p) => <input {...p} value={expires} onChange={(e) => setExpires(e.target.value)} />}
          </Field>
          <Field label="Label" name="label" error={create.error}>
            {(p) => <input {...p} value={label} maxLength={200} onChange={(e) => setLabel(e.target.value)} />}
          </Field>
        </div>
        <fieldset>
          <legend>Sites (none ticked: every site)</legend>
          {(policy.data?.sites ?? []).map((site) => (
            <label key={site} className="admin-check">
              <input
                type="checkbox"
                checked={sites.includes(site)}
                onChange={(e) => toggle(site, e.target.checked)}
              />{' '}
              {site}
            </label>
          ))}
        </fieldset>
        <ProblemMessage error={create.error} />
        <button type="submit" disabled={create.isPending}>
          Create token
        </button>
      </form>
      {create.data === undefined || create.isError ? null : <NewSecret created={create.data} />}
    </section>
  );
}

function NewSecret({ created }: { readonly created: CreatedToken }) {
  return (
    <div className="notice" role="status">
      <p>
        Token <code>{created.id}</code> ({created.role}
        {created.person === null ? '' : `, ${created.person}`}) created. Its secret:
      </p>
      <p className="secret">
        <code className="admin-secret">{created.token}</code>
      </p>
      <CopyButton text={created.token} label="Copy secret" />
      <p>
        <strong>Copy it now: it will not be shown again.</strong> Glasshouse keeps only its hash.
      </p>
    </div>
  );
}

function TokenList() {
  const { api, session } = useSession();
  const queryClient = useQueryClient();
  const tokens = useQuery({
    queryKey: ['tokens'],
    queryFn: () => api.get<{ tokens: TokenInfo[] }>('/v1/tokens'),
  });
  const [confirming, setConfirming] = useState<string | null>(null);
  const revoke = useMutation({
    mutationFn: (id: string) => api.delete<TokenInfo>(`/v1/tokens/${encodeURIComponent(id)}`),
    onSettled: () => {
      setConfirming(null);
      void queryClient.invalidateQueries({ queryKey: ['tokens'] });
    },
  });
  return (
    <section aria-labelledby="list">
      <h2 id="list">Every token</h2>
      {tokens.isPending ? <Loading what="tokens" /> : null}
      <ProblemMessage error={tokens.error} />
      <ProblemMessage error={revoke.error} />
      {tokens.data === undefined ? null : (
        <TableRegion label="Tokens">
          <table aria-label="Tokens, oldest first">
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Role</th>
                <th scope="col">Person</th>
                <th scope="col">Sites</th>
                <th scope="col">Label</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">State</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.tokens.map((t) => (
                <tr key={t.id}>
                  <td className="mono">{t.id}</td>
                  <td>{t.role}</td>
                  <td>{t.person ?? '—'}</td>
                  <td>{t.sites === '*' ? 'all' : t.sites.join(', ')}</td>
                  <td>{t.label === '' ? '—' : t.label}</td>
                  <td>{formatDateTime(t.createdAt)}</td>
                  <td>{t.expiresAt === null ? 'never' : formatDateTime(t.expiresAt)}</td>
                  <td>{t.lastUsedAt === null ? 'never' : formatDateTime(t.lastUsedAt)}</td>
                  <td>
                    <StateBadge state={t.state} />
                  </td>
                  <td>
                    {t.state !== 'active' ? null : confirming === t.id ? (
                      <ConfirmRevoke
                        id={t.id}
                        own={t.id === session?.tokenId}
                        pending={revoke.isPending}
                        onConfirm={() => revoke.mutate(t.id)}
                        onKeep={() => setConfirming(null)}
                      />
                    ) : (
                      <button
                        type="button"
                        className="secondary"
                        aria-label={`Revoke token ${t.id}`}
                        onClick={() => {
                          revoke.reset();
                          setConfirming(t.id);
                        }}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
    </section>
  );
}

/** The confirmation step of a revocation; it takes the focus, so the keyboard goes on from there. */
function ConfirmRevoke({
  id,
  own,
  pending,
  onConfirm,
  onKeep,
}: {
  readonly id: string;
  readonly own: boolean;
  readonly pending: boolean;
  readonly onConfirm: () => void;
  readonly onKeep: () => void;
}) {
  const confirm = useRef<HTMLButtonElement>(null);
  useEffect(() => confirm.current?.focus(), []);
  return (
    <span className="admin-confirm">
      {own ? 'This is your own token. ' : ''}
      <button
        ref={confirm}
        type="button"
        className="danger"
        aria-label={`Confirm revoking token ${id}`}
        disabled={pending}
        onClick={onConfirm}
      >
        Confirm revoke
      </button>{' '}
      <button type="button" className="secondary" aria-label={`Keep token ${id}`} onClick={onKeep}>
        Keep
      </button>
    </span>
  );
}
