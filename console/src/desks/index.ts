import { adminEntries } from './admin';
import { analystEntries } from './analyst';
import { auditorEntries } from './auditor';
import type { DeskEntry } from './desk';
import { legalEntries } from './legal';
import { privacyEntries } from './privacy';

/** Every entry of the navigation, in the order it shows them. */
export const DESK_ENTRIES: readonly DeskEntry[] = [
  ...legalEntries,
  ...privacyEntries,
  ...analystEntries,
  ...adminEntries,
  ...auditorEntries,
];
