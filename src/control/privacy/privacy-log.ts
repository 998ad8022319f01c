import type { Actor, AuditEntry } from '../../ports/audit-sink.js';
import type { PrivacyRequestsTable } from './privacy-tables.js';

/** The `event` of a `privacy.request` entry (docs/log.md, "The desks' entries"). */
export type PrivacyLogEvent = 'received' | 'completed' | 'rejected' | 'imported';

/** Who acts for a user who authenticated with the installation's secret: no token, no id. */
export const USER_ACTOR: Actor = { role: 'installation', token: '-' };
/** The desk's own background job. */
export const DESK_ACTOR: Actor = { role: 'privacy', token: 'desk' };

/**
 * A `privacy.request` entry: the request's whole published state after the event, exactly the
 * fields the transparency report counts, and the installation only as a commitment.
 */
export function privacyLogEntry(
  row: Pick<
    PrivacyRequestsTable,
    'id' | 'type' | 'state' | 'received_at' | 'closed_at' | 'reason' | 'installation_commitment'
  >,
  event: PrivacyLogEvent,
  actor: Actor,
  time: Date,
): AuditEntry {
  return {
    type: 'privacy.request',
    time: time.toISOString(),
    actor,
    request: row.id,
    event,
    requestType: row.type,
    receivedAt: dateOf(row.received_at),
    state: row.state,
    outcome: row.state === 'completed' || row.state === 'rejected' ? row.state : null,
    reason: row.state === 'rejected' ? row.reason : null,
    closedAt: row.closed_at === null ? null : dateOf(row.closed_at),
    installation: row.installation_commitment,
  };
}

/** The UTC calendar date of an ISO 8601 timestamp. */
export function dateOf(iso: string): string {
  return iso.slice(0, 10);
}
