import { Route, Switch } from 'wouter';
import { NewRequestPage } from './new-request-page';
import { QueuePage } from './queue-page';
import { ReceiptPage } from './receipt-page';
import { RequestPage } from './request-page';

/** The privacy officers' desk: the queue, a request, its receipt, and filing a new one. */
export function PrivacyDesk() {
  return (
    <Switch>
      <Route path="/" component={QueuePage} />
      <Route path="/new" component={NewRequestPage} />
      <Route path="/requests/:id/receipt">{(params) => <ReceiptPage id={params.id} />}</Route>
      <Route path="/requests/:id">{(params) => <RequestPage id={params.id} />}</Route>
    </Switch>
  );
}
