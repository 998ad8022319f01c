import { Link, Route, Router, Switch } from 'wouter';
import { Page } from './components/page';
import { isVisible } from './desks/desk';
import { DESK_ENTRIES } from './desks/index';
import { HomePage } from './pages/home';
import { useSession } from './session/session';

/** The console under `/console`: the navigation the token allows, and its pages. */
export function App() {
  const { session, signOut } = useSession();
  const entries = DESK_ENTRIES.filter((entry) => isVisible(entry, session));
  return (
    <Router base="/console">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          Glasshouse
        </Link>
        <nav aria-label="Desks">
          <ul>
            {entries.map((entry) => (
              <li key={entry.path}>
                <Link href={entry.path} className={(active) => (active ? 'active' : '')}>
                  {entry.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        {session === null ? null : (
          <div className="whoami">
            <span>
              {session.person ?? 'token'} · <strong>{session.role}</strong> ·{' '}
              {session.sites === '*' ? 'all sites' : session.sites.join(', ')}
            </span>
            <button type="button" className="secondary" onClick={signOut}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        <Switch>
          <Route path="/" component={HomePage} />
          {entries.map((entry) => (
            <Route key={entry.path} path={entry.path} nest component={entry.component} />
          ))}
          <Route>
            <Page title="Not found">
              <p>
                There is no such page for this token. <Link href="/">Back to the start</Link>.
              </p>
            </Page>
          </Route>
        </Switch>
      </main>
    </Router>
  );
}
