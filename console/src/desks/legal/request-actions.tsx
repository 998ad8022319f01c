import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { CopyButton } from '../../components/copy-button';
import { Field } from '../../components/field';
import { formatBytes, saveBlob } from '../../components/format';
import { ProblemMessage } from '../../components/problem-message';
import { useApi, useSession } from '../../session/session';
import {
  allows,
  LEGAL_KEY,
  type LegalAction,
  type LegalRequest,
  type PackageInfo,
  REJECTION_REASONS,
  words,
} from './legal-model';

interface ActionBody {
  readonly action: LegalAction;
  readonly valid?: boolean;
  readonly jurisdictions?: string[];
  readonly reason?: string;
  readonly note?: string;
}

/**
 * The actions the request's state accepts, each a button named as the action, and a small
 * form where the action needs input. The four eyes: the proposer is told that another
 * officer confirms, and is not offered the confirmation (the API refuses it anyway).
 */
export function RequestActions({
  request,
  onFulfilled,
}: {
  readonly request: LegalRequest;
  readonly onFulfilled: (pkg: PackageInfo) => void;
}) {
  const api = useApi();
  const { session } = useSession();
  const queryClient = useQueryClient();
  const act = useMutation({
    mutationFn: (body: ActionBody) =>
      api.post<LegalRequest>(`/v1/legal-requests/${encodeURIComponent(request.id)}/actions`, {
        json: body,
      }),
    onSuccess: async (answer) => {
      if (answer.package?.password !== undefined) onFulfilled(answer.package);
      await queryClient.invalidateQueries({ queryKey: LEGAL_KEY });
    },
  });
  const [valid, setValid] = useState('true');
  const [jurisdictions, setJurisdictions] = useState('');
  const [proposeNote, setProposeNote] = useState('');
  const [reason, setReason] = useState<string>('legal_requirements_not_met');
  const [rejectNote, setRejectNote] = useState('');

  const state = request.state;
  const proposal = request.verification !== null && request.verification.confirmedBy === null;
  const mine = proposal && request.verification?.proposedBy === session?.tokenId;
  const can = (action: LegalAction) => allows(state, action);
  if (!(['start_verification', 'propose_verification', 'reject', 'fulfil', 'withdraw'] as const).some(can)) {
    return null;
  }
  // Each form shows the API's word on its own fields only when it sent that action.
  const errorFor = (action: LegalAction) => (act.variables?.action === action ? act.error : null);
  const submit = (body: ActionBody) => (event: FormEvent) => {
    event.preventDefault();
    act.mutate(body);
  };

  return (
    <section aria-labelledby="legal-actions" className="legal-actions">
      <h2 id="legal-actions">Actions</h2>
      <ProblemMessage error={act.error} />
      {proposal && state === 'in_verification' ? (
        mine ? (
          <p className="notice" role="status">
            You proposed this verification. A second legal officer must confirm it.
          </p>
        ) : (
          <p className="notice">
            Another officer proposed this verification ({request.verification?.valid ? 'valid' : 'not valid'}
            {request.verification?.jurisdictions.length
              ? ` under ${request.verification.jurisdictions.join(', ')}`
              : ''}
            ). Check it and confirm it, or propose otherwise.
          </p>
        )
      ) : null}
      <div className="legal-buttons">
        {can('start_verification') ? (
          <button
            type="button"
            disabled={act.isPending}
            onClick={() => act.mutate({ action: 'start_verification' })}
          >
            Start verification
          </button>
        ) : null}
        {can('confirm_verification') && proposal && !mine ? (
          <button
            type="button"
            disabled={act.isPending}
            onClick={() => act.mutate({ action: 'confirm_verification' })}
          >
            Confirm verification
          </button>
        ) : null}
        {can('fulfil') ? (
          <button type="button" disabled={act.isPending} onClick={() => act.mutate({ action: 'fulfil' })}>
            Fulfil
          </button>
        ) : null}
        {can('withdraw') ? (
          <button
            type="button"
            className="secondary"
            disabled={act.isPending}
            onClick={() => act.mutate({ action: 'withdraw' })}
          >
            Withdraw
          </button>
        ) : null}
      </div>
      {can('propose_verification') ? (
        <form
          aria-label="Propose verification"
          className="legal-form"
          onSubmit={submit({
            action: 'propose_verification',
            valid: valid === 'true',
            jurisdictions: jurisdictions
              .split(/[\s,]+/)
              .map((j) => j.trim().toUpperCase())
              .filter((j) => j !== ''),
            ...(proposeNote.trim() === '' ? {} : { note: proposeNote.trim() }),
          })}
        >
          <div className="form-row">
            <Field label="Verdict" name="valid" error={errorFor('propose_verification')}>
              {(p) => (
                <select {...p} value={valid} onChange={(e) => setValid(e.target.value)}>
                  <option value="true">legally valid</option>
                  <option value="false">not legally valid</option>
                </select>
              )}
            </Field>
            <Field
              label="Jurisdictions"
              name="jurisdictions"
              error={errorFor('propose_verification')}
              hint="country codes under whose law it is valid, e.g. DE CH"
            >
              {(p) => (
                <input {...p} value={jurisdictions} onChange={(e) => setJurisdictions(e.target.value)} />
              )}
            </Field>
          </div>
          <Field label="Verification note" name="note" error={errorFor('propose_verification')}>
            {(p) => <input {...p} value={proposeNote} onChange={(e) => setProposeNote(e.target.value)} />}
          </Field>
          <button type="submit" disabled={act.isPending}>
            Propose verification
          </button>
        </form>
      ) : null}
      {can('reject') ? (
        <form
          aria-label="Reject"
          className="legal-form"
          onSubmit={submit({
            action: 'reject',
            reason,
            ...(rejectNote.trim() === '' ? {} : { note: rejectNote.trim() }),
          })}
        >
          <div className="form-row">
            <Field label="Reason" name="reason" error={errorFor('reject')}>
              {(p) => (
                <select {...p} value={reason} onChange={(e) => setReason(e.target.value)}>
                  {REJECTION_REASONS.map((r) => (
                    <option key={r} value={r}>
                      {words(r)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Rejection note" name="note" error={errorFor('reject')}>
              {(p) => <input {...p} value={rejectNote} onChange={(e) => setRejectNote(e.target.value)} />}
            </Field>
          </div>
          <button type="submit" className="danger" disabled={act.isPending}>
            Reject
          </button>
        </form>
      ) : null}
    </section>
  );
}

/** The password of a fresh package: shown this once, never stored, copied by a button. */
export function PasswordOnce({ pkg }: { readonly pkg: PackageInfo }) {
  if (pkg.password === undefined) return null;
  return (
    <section className="notice" aria-labelledby="legal-password">
      <h2 id="legal-password">Package password</h2>
      <p>
        This password is shown <strong>only now</strong> and stored nowhere. Give it to the authority by
        another channel than the package ({formatBytes(pkg.bytes)}).
      </p>
      <p>
        Password: <code className="secret">{pkg.password}</code>{' '}
        <CopyButton text={pkg.password} label="Copy password" />
      </p>
    </section>
  );
}

/** `GET …/package` (logged by the server as a download) saved as a file. */
export function PackageDownload({ id }: { readonly id: string }) {
  const api = useApi();
  const download = useMutation({
    mutationFn: async () => {
      const blob = await api.blob(`/v1/legal-requests/${encodeURIComponent(id)}/package`);
      saveBlob(blob, `legal-${id}.zip`);
    },
  });
  return (
    <>
      <button type="button" disabled={download.isPending} onClick={() => download.mutate()}>
        Download package
      </button>
      <ProblemMessage error={download.error} />
    </>
  );
}
