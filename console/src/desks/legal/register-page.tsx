import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link, useLocation } from 'wouter';
import { Field } from '../../components/field';
import { Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { useApi } from '../../session/session';
import {
  AUTHORITY_KINDS,
  LEGAL_CATEGORIES,
  LEGAL_KEY,
  type LegalRequest,
  requestKey,
  words,
} from './legal-model';

interface Draft {
  receivedAt: string;
  requesterCountry: string;
  authorityKind: string;
  authority: string;
  legalBasis: string;
  reference: string;
  category: string;
  dueAt: string;
  installations: string;
  hashes: string;
  threats: string;
  from: string;
  to: string;
  text: string;
}

/** One item a line (or separated by commas): ids, hashes and threat names hold no commas. */
function listOf(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

const orNull = (text: string) => (text.trim() === '' ? null : text.trim());

/** The request as `POST /v1/legal-requests` takes it; the API checks every field. */
function bodyOf(d: Draft) {
  return {
    receivedAt: d.receivedAt.trim(),
    requesterCountry: d.requesterCountry.trim(),
    authorityKind: d.authorityKind,
    authority: d.authority.trim(),
    legalBasis: d.legalBasis.trim(),
    reference: d.reference.trim(),
    category: d.category,
    dueAt: orNull(d.dueAt),
    scope: {
      installations: listOf(d.installations),
      hashes: listOf(d.hashes),
      threats: listOf(d.threats),
      from: orNull(d.from),
      to: orNull(d.to),
      text: d.text,
    },
  };
}

export function RegisterPage() {
  const api = useApi();
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const [draft, setDraft] = useState<Draft>(() => ({
    receivedAt: new Date().toISOString().slice(0, 10),
    requesterCountry: '',
    authorityKind: 'law_enforcement',
    authority: '',
    legalBasis: '',
    reference: '',
    category: 'technical_expertise',
    dueAt: '',
    installations: '',
    hashes: '',
    threats: '',
    from: '',
    to: '',
    text: '',
  }));
  const register = useMutation({
    mutationFn: (d: Draft) => api.post<LegalRequest>('/v1/legal-requests', { json: bodyOf(d) }),
    onSuccess: async (created) => {
      queryClient.setQueryData(requestKey(created.id), created);
      await queryClient.invalidateQueries({ queryKey: LEGAL_KEY });
      navigate(`/requests/${created.id}`);
    },
  });
  const set =
    (key: keyof Draft) =>
    (event: { target: { value: string } }): void =>
      setDraft((d) => ({ ...d, [key]: event.target.value }));
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    register.mutate(draft);
  };
  const error = register.error;

  return (
    <Page title="Register request">
      <p>
        <Link href="/">Back to the queue</Link>
      </p>
      <form onSubmit={onSubmit} aria-label="Register request" noValidate>
        <fieldset>
          <legend>The request</legend>
          <div className="form-row">
            <Field label="Received on" name="receivedAt" error={error} hint="YYYY-MM-DD">
              {(p) => <input {...p} value={draft.receivedAt} onChange={set('receivedAt')} required />}
            </Field>
            <Field label="Due on" name="dueAt" error={error} hint="YYYY-MM-DD, optional">
              {(p) => <input {...p} value={draft.dueAt} onChange={set('dueAt')} />}
            </Field>
          </div>
          <div className="form-row">
            <Field
              label="Requester country"
              name="requesterCountry"
              error={error}
              hint="ISO 3166-1 alpha-2, e.g. DE"
            >
              {(p) => (
                <input
                  {...p}
                  value={draft.requesterCountry}
                  onChange={set('requesterCountry')}
                  maxLength={2}
                  autoCapitalize="characters"
                  required
                />
              )}
            </Field>
            <Field label="Kind of authority" name="authorityKind" error={error}>
              {(p) => (
                <select {...p} value={draft.authorityKind} onChange={set('authorityKind')}>
                  {AUTHORITY_KINDS.map((kind) => (
                    <option key={kind} value={kind}>
                      {words(kind)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          </div>
          <Field label="Authority" name="authority" error={error}>
            {(p) => <input {...p} value={draft.authority} onChange={set('authority')} required />}
          </Field>
          <Field label="Legal basis" name="legalBasis" error={error}>
            {(p) => <input {...p} value={draft.legalBasis} onChange={set('legalBasis')} required />}
          </Field>
          <Field label="Reference" name="reference" error={error} hint="the authority's file number">
            {(p) => <input {...p} value={draft.reference} onChange={set('reference')} />}
          </Field>
          <Field label="Category" name="category" error={error}>
            {(p) => (
              <select {...p} value={draft.category} onChange={set('category')}>
                {LEGAL_CATEGORIES.map((category) => (
                  <option key={category} value={category}>
                    {words(category)}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </fieldset>
        <fieldset>
          <legend>What it asks about</legend>
          <Field label="Hashes" name="scope.hashes" error={error} hint="MD5, SHA-1 or SHA-256, one a line">
            {(p) => <textarea {...p} rows={3} value={draft.hashes} onChange={set('hashes')} />}
          </Field>
          <Field label="Threats" name="scope.threats" error={error} hint="threat names, one a line">
            {(p) => <textarea {...p} rows={2} value={draft.threats} onChange={set('threats')} />}
          </Field>
          <Field
            label="Installations"
            name="scope.installations"
            error={error}
            hint="installation ids, one a line"
          >
            {(p) => <textarea {...p} rows={2} value={draft.installations} onChange={set('installations')} />}
          </Field>
          <div className="form-row">
            <Field label="From" name="scope.from" error={error} hint="a date or date-time, inclusive">
              {(p) => <input {...p} value={draft.from} onChange={set('from')} />}
            </Field>
            <Field label="To" name="scope.to" error={error} hint="exclusive">
              {(p) => <input {...p} value={draft.to} onChange={set('to')} />}
            </Field>
          </div>
          <Field label="Text of the request" name="scope.text" error={error}>
            {(p) => <textarea {...p} rows={4} value={draft.text} onChange={set('text')} />}
          </Field>
        </fieldset>
        <ProblemMessage error={error} />
        <button type="submit" disabled={register.isPending}>
          Register request
        </button>
      </form>
    </Page>
  );
}
