export type { SiteRule } from './assignment-table.js';
export { ALL_COUNTRY_CODES, countryName, isCountryCode } from './countries.js';
export type {
  PolicyVersion,
  PolicyVersionInput,
  PreviousVersion,
  ResidencyContext,
  Resolution,
  ResolutionRule,
  SiteAssignment,
  ValidatedPolicyVersion,
} from './policy.js';
export { validatePolicyVersion, validateRegions } from './policy.js';
export type { ResidencyErrorCode } from './residency-errors.js';
export { ResidencyError } from './residency-errors.js';
export type { CompiledPolicy, CompiledPolicyVersion } from './resolution.js';
export { compilePolicy, compilePolicyVersion, resolveSite, versionInForce } from './resolution.js';
