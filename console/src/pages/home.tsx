import { type FormEvent, useState } from 'react';
import { Link } from 'wouter';
import { Field } from '../components/field';
import { Page } from '../components/page';
import { ProblemMessage } from '../components/problem-message';
import { isVisible } from '../desks/desk';
import { DESK_ENTRIES } from '../desks/index';
import { useSession } from '../session/session';

/** Signed out: the sign-in form. Signed in: what this token may do here. */
export function HomePage() {
  const { session } = useSession();
  if (session === null) return <SignIn />;
  const entries = DESK_ENTRIES.filter((entry) => isVisible(entry, session));
  return (
    <Page title="Console">
      <p>
        Signed in as <strong>{session.role}</strong>
        {session.person === null ? '' : ` (${session.person})`}, for{' '}
        {session.sites === '*' ? 'every site' : `the sites ${session.sites.join(', ')}`}.
        {session.expiresAt === null ? '' : ` The token expires ${session.expiresAt.slice(0, 10)}.`}
      </p>
      {session.role === 'product' ? (
        <p>
          A product token sends samples, telemetry and look-ups through the API; the console has no desk for
          it.
        </p>
      ) : (
        <ul className="desk-list">
          {entries.map((entry) => (
            <li key={entry.path}>
              <Link href={entry.path}>{entry.label}</Link>
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}

function SignIn() {
  const { signIn } = useSession();
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const publicEntries = DESK_ENTRIES.filter((entry) => entry.audience === 'public');

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(token);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Page title="Sign in">
      <form className="sign-in" onSubmit={submit}>
        <Field
          label="Token"
          name="token"
          hint="The token is kept in this tab only, and forgotten when you sign out or close it."
        >
          {(control) => (
            <input
              {...control}
              type="password"
              autoComplete="off"
              spellCheck={false}
              value={token}
              onChange={(e) => setToken(e.target.value)}
              required
            />
          )}
        </Field>
        <button type="submit" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
        <ProblemMessage error={error} />
      </form>
      {publicEntries.length === 0 ? null : (
        <section aria-labelledby="public-heading">
          <h2 id="public-heading">Without a token</h2>
          <ul className="desk-list">
            {publicEntries.map((entry) => (
              <li key={entry.path}>
                <Link href={entry.path}>{entry.label}</Link>
              </li>
            ))}
          </ul>
        </section>
      )}
    </Page>
  );
}
