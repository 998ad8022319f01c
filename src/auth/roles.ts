export const ROLES = ['product', 'analyst', 'legal', 'privacy', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Who is calling: resolved from a bearer token on every request. */
export interface Principal {
  readonly tokenId: string;
  readonly role: Role;
  /** The sites this token may touch; `'*'` means every configured site. */
  readonly sites: readonly string[] | '*';
}
