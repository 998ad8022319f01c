import { createHmac } from 'node:crypto';
import { canonicalJson } from '../../ledger/note/index.js';
import type { Actor, AuditEntry } from '../../ports/audit-sink.js';
import type { LegalRequestState } from './legal-request.js';

export type { LegalRequestState };

/**
 * The `legal.request` entry of docs/log.md ("The desks' entries"): the request's whole
 * published state after the event, and a commitment to everything else. The transparency
 * reports count from these entries alone, so their fields are a contract.
 */
export interface LegalLogEntry extends AuditEntry, LegalRequestState {
  readonly type: 'legal.request';
  readonly event: 'received' | 'transition' | 'imported';
  readonly details: string;
}

/** The published fields of a request as the desk holds it (by `id`). */
export type PublishedState = Omit<LegalRequestState, 'request'> & { readonly id: string };

/**
 * `HMAC-SHA-256(salt, canonical JSON of the unpublished fields)`, hex. The salt is random
 * per request and stays in the control plane: the desk can show an auditor that an entry
 * commits to the case file, and nobody without the salt can test a guess about it.
 *
 * @example
 * commitDetails(salt, { authority: 'BKA', reference: 'AZ 1/21' }); // '9c1f…'
 */
export function commitDetails(salt: Buffer, unpublished: Readonly<Record<string, unknown>>): string {
  return createHmac('sha256', salt).update(canonicalJson(unpublished), 'utf8').digest('hex');
}

export function legalLogEntry(
  event: LegalLogEntry['event'],
  request: PublishedState,
  details: string,
  actor: Actor,
  time: Date,
): LegalLogEntry {
  return {
    type: 'legal.request',
    time: time.toISOString(),
    actor: {
      role: actor.role,
      token: actor.token,
      ...(actor.person === undefined ? {} : { person: actor.person }),
    },
    request: request.id,
    event,
    receivedAt: request.receivedAt,
    requesterCountry: request.requesterCountry,
    authorityKind: request.authorityKind,
    category: request.category,
    state: request.state,
    reason: request.reason,
    closedAt: request.closedAt,
    details,
  };
}
