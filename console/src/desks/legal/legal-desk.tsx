import { Route, Switch } from 'wouter';
import { ImportPage } from './import-page';
import { QueuePage } from './queue-page';
import { RegisterPage } from './register-page';
import { RequestPage } from './request-page';

/** The legal officers' desk under `/legal`: the queue, a request, registering, importing. */
export function LegalDesk() {
  return (
    <Switch>
      <Route path="/" component={QueuePage} />
      <Route path="/state/:state" component={QueuePage} />
      <Route path="/register" component={RegisterPage} />
      <Route path="/import" component={ImportPage} />
      <Route path="/requests/:id" component={RequestPage} />
    </Switch>
  );
}
