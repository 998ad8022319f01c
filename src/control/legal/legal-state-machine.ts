import { LegalError } from './legal-errors.js';
import type { LegalAction, LegalState, RejectionReason } from './legal-request.js';

/**
 * The whole life of a request, as a table: for each action, the states it may start from
 * and the states it may lead to. Nothing else is a transition. `propose_verification`
 * records one officer's half of the four-eyes check and leaves the state as it is.
 *
 * ```
 * received ──start_verification──▶ in_verification ──confirm_verification──▶ verified
 *                                        │  (valid: false) ──────────────────▶ rejected
 * verified ──fulfil──▶ fulfilled | partially_fulfilled | rejected (no_data, legal_requirements_not_met)
 * received | in_verification | verified ──reject──▶ rejected
 * received | in_verification | verified ──withdraw──▶ withdrawn
 * ```
 */
export const TRANSITIONS: Readonly<
  Record<LegalAction, Readonly<Partial<Record<LegalState, readonly LegalState[]>>>>
> = {
  start_verification: { received: ['in_verification'] },
  propose_verification: { in_verification: ['in_verification'] },
  confirm_verification: { in_verification: ['verified', 'rejected'] },
  reject: { received: ['rejected'], in_verification: ['rejected'], verified: ['rejected'] },
  fulfil: { verified: ['fulfilled', 'partially_fulfilled', 'rejected'] },
  withdraw: { received: ['withdrawn'], in_verification: ['withdrawn'], verified: ['withdrawn'] },
};

/** The rejection reasons each action may give. */
export const REJECTION_REASONS_OF: Readonly<Partial<Record<LegalAction, readonly RejectionReason[]>>> = {
  confirm_verification: ['legal_requirements_not_met'],
  reject: ['legal_requirements_not_met', 'no_data', 'out_of_scope'],
  fulfil: ['no_data', 'legal_requirements_not_met'],
};

/** The states `action` may lead to from `state`; empty when it is not allowed there. */
export function targetsOf(state: LegalState, action: LegalAction): readonly LegalState[] {
  return TRANSITIONS[action][state] ?? [];
}

/** The actions allowed in `state` (none in a final state). */
export function actionsFrom(state: LegalState): LegalAction[] {
  return (Object.keys(TRANSITIONS) as LegalAction[]).filter((action) => targetsOf(state, action).length > 0);
}

/** Throws `INVALID_TRANSITION` (a 409) unless `action` may be taken in `state`. */
export function assertActionAllowed(state: LegalState, action: LegalAction): void {
  if (targetsOf(state, action).length === 0) {
    const allowed = actionsFrom(state);
    throw new LegalError(
      'INVALID_TRANSITION',
      `a request in state ${state} does not accept ${action}${allowed.length === 0 ? ' (it is closed)' : `; it accepts ${allowed.join(', ')}`}`,
      { details: { field: 'action', value: action } },
    );
  }
}

/**
 * Checks one step, `from` —action→ `to` with `reason`, against the table: the target must be
 * one the action leads to, a rejection must carry a reason the action may give, and nothing
 * else carries one. Returns the step's result.
 *
 * @example
 * step('verified', 'fulfil', 'rejected', 'no_data'); // { state: 'rejected', reason: 'no_data' }
 */
export function step(
  from: LegalState,
  action: LegalAction,
  to: LegalState,
  reason: RejectionReason | null,
): { state: LegalState; reason: RejectionReason | null } {
  assertActionAllowed(from, action);
  if (!targetsOf(from, action).includes(to)) {
    throw new LegalError('INVALID_TRANSITION', `${action} does not lead from ${from} to ${to}`);
  }
  if (to === 'rejected') {
    if (reason === null || !(REJECTION_REASONS_OF[action] ?? []).includes(reason)) {
      throw new LegalError('INVALID_TRANSITION', `${action} cannot reject with reason ${String(reason)}`, {
        details: { field: 'reason' },
      });
    }
  } else if (reason !== null) {
    throw new LegalError('INVALID_TRANSITION', `only a rejection carries a reason, not ${to}`);
  }
  return { state: to, reason };
}
