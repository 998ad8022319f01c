import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useLocation } from 'wouter';
import { CopyButton } from '../../components/copy-button';
import { Field } from '../../components/field';
import { Page } from '../../components/page';
import { ProblemMessage } from '../../components/problem-message';
import { useApi } from '../../session/session';
import { type PrivacyRequest, REQUEST_TYPES, type RequestType, typeLabel } from './privacy-api';

/**
 * Files a request on a user's behalf. With a verification note it is verified at once. An
 * erasure's receipt token is shown here once: the user needs it to read the receipt later.
 */
export function NewRequestPage() {
  const api = useApi();
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const [type, setType] = useState<RequestType>('inventory');
  const [installation, setInstallation] = useState('');
  const [verificationNote, setVerificationNote] = useState('');
  const file = useMutation({
    mutationFn: () =>
      api.post<PrivacyRequest>('/v1/privacy-requests', {
        json: {
          type,
          installation: installation.trim(),
          ...(verificationNote.trim() === '' ? {} : { verificationNote: verificationNote.trim() }),
        },
      }),
    onSuccess: (filed) => {
      void queryClient.invalidateQueries({ queryKey: ['privacy'] });
      if (filed.receiptToken === undefined) navigate(`/requests/${filed.id}`);
    },
  });

  if (file.data?.receiptToken !== undefined) {
    return (
      <Page title="Erasure request filed">
        <div className="notice">
          <p>
            Give the user this receipt token now: it is shown once, and with it they can read the receipt of
            the erasure after their installation is gone.
          </p>
          <p className="secret mono">{file.data.receiptToken}</p>
          <CopyButton text={file.data.receiptToken} label="Copy the receipt token" />
        </div>
        <p>
          <Link href={`/requests/${file.data.id}`}>Open the request</Link>
        </p>
      </Page>
    );
  }

  return (
    <Page title="New request">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          file.mutate();
        }}
      >
        <Field label="Type" name="type" error={file.error}>
          {(p) => (
            <select {...p} value={type} onChange={(e) => setType(e.target.value as RequestType)}>
              {REQUEST_TYPES.map((t) => (
                <option key={t} value={t}>
                  {typeLabel(t)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field
          label="Installation"
          name="installation"
          error={file.error}
          hint="The installation id the user gave (a UUID)."
        >
          {(p) => (
            <input
              {...p}
              className="mono"
              autoComplete="off"
              value={installation}
              onChange={(e) => setInstallation(e.target.value)}
            />
          )}
        </Field>
        <Field
          label="Verification note"
          name="verificationNote"
          error={file.error}
          hint="How the user's identity was checked. With a note the request is verified at once; without it, it waits for Verify."
        >
          {(p) => (
            <textarea {...p} value={verificationNote} onChange={(e) => setVerificationNote(e.target.value)} />
          )}
        </Field>
        <ProblemMessage error={file.error} />
        <div className="form-row">
          <button type="submit" disabled={file.isPending}>
            File the request
          </button>
          <Link href="/" className="button secondary">
            Cancel
          </Link>
        </div>
      </form>
    </Page>
  );
}
