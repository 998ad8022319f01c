import type { DeskEntry } from '../desk';
import { LogDesk } from './log-pages';
import { ReportsDesk } from './report-pages';

/** The auditors' and the public's desk: it reads only what anyone may read, signed out too. */
export const auditorEntries: readonly DeskEntry[] = [
  { path: '/log', label: 'Transparency log', audience: 'public', component: LogDesk },
  { path: '/reports', label: 'Reports', audience: 'public', component: ReportsDesk },
];
