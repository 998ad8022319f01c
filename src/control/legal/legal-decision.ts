import { AuthError } from '../auth/auth-errors.js';
import type { Person } from '../auth/people.js';
import type { Principal } from '../auth/roles.js';
import { isCountryCode } from '../residency/countries.js';
import { LegalError } from './legal-errors.js';
import { type FulfilmentSources, fulfil } from './legal-fulfilment.js';
import type { LegalRequest, LegalState, RejectionReason, Verification } from './legal-request.js';
import { invalidRequest } from './legal-validation.js';

/** An action on a request, as the routes pass it on. */
export type ActionInput =
  | {
      readonly action: 'start_verification' | 'confirm_verification' | 'fulfil' | 'withdraw';
      readonly note?: string;
    }
  | {
      readonly action: 'propose_verification';
      readonly valid: boolean;
      readonly jurisdictions?: readonly string[];
      readonly note?: string;
    }
  | { readonly action: 'reject'; readonly reason: RejectionReason; readonly note?: string };

/** What one action decides: the state it leads to, and what it changes or carries. */
export interface Decision {
  readonly state: LegalState;
  readonly reason: RejectionReason | null;
  readonly verification?: Verification;
  readonly package?: LegalRequest['package'];
  /** The package's password, to be shown once. */
  readonly password?: string;
  /** What the history keeps of the step. */
  readonly data: Record<string, unknown>;
}

/**
 * Decides where an action leads (the caller checks the result against the state machine):
 * the four-eyes rule for confirmations, and the search and the package for `fulfil`.
 */
export async function decideStep(
  request: LegalRequest,
  input: ActionInput,
  principal: Principal,
  now: Date,
  sources: FulfilmentSources,
): Promise<Decision> {
  switch (input.action) {
    case 'start_verification':
      return { state: 'in_verification', reason: null, data: {} };
    case 'propose_verification': {
      const verification = proposal(input, principal, now);
      return {
        state: 'in_verification',
        reason: null,
        verification,
        data: { valid: verification.valid, jurisdictions: verification.jurisdictions },
      };
    }
    case 'confirm_verification': {
      const proposed = request.verification;
      if (proposed === null || proposed.confirmedBy !== null) {
        throw new LegalError(
          'INVALID_TRANSITION',
          'no verification has been proposed; propose_verification first',
        );
      }
      const confirmer = personOf(principal);
      assertFourEyes(proposed, principal, confirmer);
      const verification = {
        ...proposed,
        confirmedBy: principal.tokenId,
        confirmedAt: now.toISOString(),
        confirmedByPerson: confirmer.commitment,
      };
      return proposed.valid
        ? { state: 'verified', reason: null, verification, data: { jurisdictions: proposed.jurisdictions } }
        : { state: 'rejected', reason: 'legal_requirements_not_met', verification, data: {} };
    }
    case 'reject':
      return { state: 'rejected', reason: input.reason, data: {} };
    case 'withdraw':
      return { state: 'withdrawn', reason: null, data: {} };
    case 'fulfil': {
      const done = await fulfil(request, sources, principal, now);
      const written = done.written;
      return {
        state: done.state,
        reason: done.reason,
        ...(written === undefined
          ? {}
          : {
              package: {
                sha256: written.sha256,
                bytes: written.bytes,
                createdAt: now.toISOString(),
                files: written.files,
              },
              password: written.password,
            }),
        data: { ...done.summary },
      };
    }
  }
}

function proposal(
  input: Extract<ActionInput, { action: 'propose_verification' }>,
  principal: Principal,
  now: Date,
): Verification {
  const jurisdictions = [...new Set(input.jurisdictions ?? [])];
  for (const code of jurisdictions) {
    if (!isCountryCode(code))
      throw invalidRequest('jurisdictions', `${code} is not an ISO 3166-1 alpha-2 code`);
  }
  if (input.valid && jurisdictions.length === 0) {
    throw invalidRequest('jurisdictions', 'a valid request names the jurisdictions it is valid under');
  }
  return {
    valid: input.valid,
    jurisdictions: input.valid ? jurisdictions : [],
    note: input.note ?? '',
    proposedBy: principal.tokenId,
    proposedAt: now.toISOString(),
    confirmedBy: null,
    confirmedAt: null,
    proposedByPerson: personOf(principal).commitment,
    confirmedByPerson: null,
  };
}

/**
 * Four eyes are two people, not two tokens: one officer holding two `legal` tokens still
 * cannot confirm their own proposal. A proposal that names no person (made before tokens
 * named people) cannot be confirmed at all: it must be proposed again.
 */
function assertFourEyes(proposed: Verification, principal: Principal, confirmer: Person): void {
  if (proposed.proposedByPerson === undefined) {
    throw new LegalError(
      'FOUR_EYES_REQUIRED',
      'the proposal was made with a token that names no person; propose the verification again',
    );
  }
  if (proposed.proposedByPerson === confirmer.commitment || proposed.proposedBy === principal.tokenId) {
    throw new LegalError(
      'FOUR_EYES_REQUIRED',
      'the person who proposed a verification cannot confirm it, with any of their tokens; another legal officer must',
    );
  }
}

/** A four-eyes step needs to know who takes it: a token without a person takes none. */
function personOf(principal: Principal): Person {
  if (principal.person === null) {
    throw new AuthError(
      'PERSON_REQUIRED',
      `token ${principal.tokenId} names no person, so it takes no part in four-eyes decisions; use a token created with --person`,
    );
  }
  return principal.person;
}
