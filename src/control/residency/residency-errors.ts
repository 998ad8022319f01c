import { GlasshouseError } from '../../shared/errors.js';

/**
 * Why a residency policy, a region table or a resolution was refused. Every code names one
 * operator mistake, so that `policy set` can say exactly which key to fix (see `details`).
 */
export type ResidencyErrorCode =
  | 'UNKNOWN_SITE'
  | 'UNKNOWN_REGION'
  | 'UNKNOWN_COUNTRY'
  | 'INVALID_REGION'
  | 'INVALID_POLICY'
  | 'EFFECTIVE_IN_PAST'
  | 'CONFLICTING_ASSIGNMENT'
  | 'NO_POLICY_IN_FORCE';

export class ResidencyError extends GlasshouseError<ResidencyErrorCode> {}
