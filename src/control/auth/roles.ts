import type { Actor } from '../../ports/audit-sink.js';
import type { Person } from './people.js';

export const ROLES = ['product', 'analyst', 'legal', 'privacy', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** The roles whose tokens must name their holder: officers decide on people's data. */
export const PERSONAL_ROLES: readonly Role[] = ['legal', 'privacy'];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Who is calling: resolved from a bearer token on every request. */
export interface Principal {
  readonly tokenId: string;
  readonly role: Role;
  /** The sites this token may touch; `'*'` means every configured site. */
  readonly sites: readonly string[] | '*';
  /** The person holding the token; null for product tokens and tokens made before people were. */
  readonly person: Person | null;
}

/** The log's record of who acted: the token's role and id, and its person as a commitment. */
export function actorOf(principal: Principal): Actor {
  const actor = { role: principal.role, token: principal.tokenId };
  return principal.person === null ? actor : { ...actor, person: principal.person.commitment };
}
