import type { ComponentType } from 'react';
import type { Role, SessionInfo } from '../session/session';

/**
 * One entry of the navigation and the pages under it. The navigation shows an entry only to
 * the roles it names (and, for deployment-wide actions, to a token of every site), so a
 * token never sees a page the API would refuse it.
 */
export interface DeskEntry {
  /** Under `/console`, e.g. `/legal`; the entry's own pages live below it. */
  readonly path: string;
  readonly label: string;
  /** Who sees it: the roles, or `public` for everyone, signed in or not. */
  readonly audience: readonly Role[] | 'public';
  /** Only a token that reaches every site (as the API's deployment-wide routes demand). */
  readonly everySite?: boolean;
  readonly component: ComponentType;
}

export function isVisible(entry: DeskEntry, session: SessionInfo | null): boolean {
  if (entry.audience === 'public') return true;
  if (session === null || !entry.audience.includes(session.role)) return false;
  return entry.everySite !== true || session.sites === '*';
}
