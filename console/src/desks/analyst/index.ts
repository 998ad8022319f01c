import type { DeskEntry } from '../desk';
import { SamplesDesk } from './samples';
import { StatisticsDesk } from './statistics';
import { VerdictsDesk } from './verdicts';

export const analystEntries: readonly DeskEntry[] = [
  { path: '/samples', label: 'Samples', audience: ['analyst'], component: SamplesDesk },
  { path: '/statistics', label: 'Statistics', audience: ['analyst'], component: StatisticsDesk },
  { path: '/verdicts', label: 'Verdicts', audience: ['analyst'], component: VerdictsDesk },
];
