import type { DeskEntry } from '../desk';
import { LegalDesk } from './legal-desk';

export const legalEntries: readonly DeskEntry[] = [
  { path: '/legal', label: 'Legal requests', audience: ['legal'], component: LegalDesk },
];
