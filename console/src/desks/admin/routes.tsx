import { Route, Switch } from 'wouter';
import { AuditPage } from './audit-page';
import { PolicyPage } from './policy-page';
import { RelocationPage } from './relocation-page';
import { RelocationsPage } from './relocations-page';
import { TokensPage } from './tokens-page';

export function PolicyDesk() {
  return <PolicyPage />;
}

export function RelocationsDesk() {
  return (
    <Switch>
      <Route path="/">
        <RelocationsPage />
      </Route>
      <Route path="/:id">{(params) => <RelocationPage id={params.id} />}</Route>
    </Switch>
  );
}

export function TokensDesk() {
  return <TokensPage />;
}

export function AuditDesk() {
  return <AuditPage />;
}
