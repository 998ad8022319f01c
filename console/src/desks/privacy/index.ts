import type { DeskEntry } from '../desk';
import { PrivacyDesk } from './privacy-desk';

export const privacyEntries: readonly DeskEntry[] = [
  { path: '/privacy', label: 'Privacy requests', audience: ['privacy'], component: PrivacyDesk },
];
