import type { Report } from './report.js';
import type { Share } from './report-numbers.js';

/** "at least 36%" while requests are open, else "36%". */
export function shareText(share: Share): string {
  return `${share.atLeast ? 'at least ' : ''}${share.value}%`;
}

export function periodTitle(r: Report): string {
  return `Law enforcement and government requests, ${r.period} (${r.from} to ${r.to}, UTC)`;
}

/** The headline sentence every format opens with. */
export function headline(r: Report): string {
  const l = r.legal;
  return (
    `${l.total} requests from ${l.countries} ${l.countries === 1 ? 'country' : 'countries'}; ` +
    `${l.byCategory.technical_expertise} for technical expertise, ${l.byCategory.user_data} for user data; ` +
    `${shareText(l.rejectedShare)} rejected${l.open > 0 ? ` (${l.open} still open)` : ''}. ` +
    `${r.privacy.total} user requests about their own data.`
  );
}

/** The counting rules (docs/reports.md), shown in every report. */
export const COUNTING_RULES: readonly string[] = [
  'A request counts in the period of its received date (UTC).',
  'The counts of a year are the sums of its halves; the number of countries is the number of distinct requester countries, never a sum.',
  'Outcomes are an exclusive partition that sums to the total (fulfilled, partially fulfilled, rejected by reason, withdrawn, still open), kept per category.',
  'The rejected share is rejected / received, rounded down to a whole percent, and marked "at least" while any request of the period is still open at the checkpoint of the report.',
  'Every number except "where the data lives" is recomputed from the signed control-plane log with `glasshouse report verify`.',
];

export const RESIDENCY_CAVEAT =
  'From the installation registry and the policy at the time of the report: not recomputable from the log.';

export function label(key: string): string {
  return key.replaceAll('_', ' ');
}

export function verifyCommand(r: Report): string {
  return `glasshouse report verify report.json --url <server> --key '<key of ${r.checkpoint.origin}>'`;
}
