import type { DeskEntry } from '../desk';
import { AuditDesk, PolicyDesk, RelocationsDesk, TokensDesk } from './routes';

/**
 * The administrators' desk. Policy versions, relocations and tokens are the deployment's:
 * only a token of every site changes them, as the API demands (`everySite`). The policy and
 * the audit are read by an admin of some sites too (the audit by auditors as well).
 */
export const adminEntries: readonly DeskEntry[] = [
  { path: '/policy', label: 'Residency policy', audience: ['admin'], component: PolicyDesk },
  {
    path: '/relocations',
    label: 'Relocations',
    audience: ['admin'],
    everySite: true,
    component: RelocationsDesk,
  },
  { path: '/tokens', label: 'Tokens', audience: ['admin'], everySite: true, component: TokensDesk },
  { path: '/audit', label: 'Residency audit', audience: ['admin', 'auditor'], component: AuditDesk },
];
