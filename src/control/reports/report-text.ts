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

/** Where a report's log is published and the control log's verifier key. */
export interface VerifyTarget {
  /** Base URL of the server publishing `/log/control/` (and `/reports/`). */
  readonly url: string;
  /** `glasshouse ledger key --node control`: `origin+keyid+base64`. */
  readonly key: string;
}

/** The command that recomputes the report; with placeholders only when the target is unknown. */
export function verifyCommand(r: Report, target?: VerifyTarget): string {
  if (target === undefined) {
    return `glasshouse report verify report.json --url <server> --key '<key of ${r.checkpoint.origin}>'`;
  }
  const url = target.url.replace(/\/+$/, '');
  return [
    `curl -fsSO ${url}/reports/${r.period}/report.json`,
    `npx glasshouse report verify report.json --url ${url} --key '${target.key}'${witnessOptions(r)}`,
  ].join('\n');
}

/** `--witness KEY…` for the witnesses that cosigned, all of them required. */
function witnessOptions(r: Report): string {
  const witnesses = r.checkpoint.witnesses ?? [];
  if (witnesses.length === 0) return '';
  return `${witnesses.map((w) => ` \\\n  --witness '${w.key}'`).join('')} --quorum ${witnesses.length}`;
}

/** Who cosigned the report's checkpoint, in a sentence. */
export function witnessText(r: Report): string {
  const witnesses = r.checkpoint.witnesses ?? [];
  if (witnesses.length === 0) return 'No witness cosigned this checkpoint.';
  const names = witnesses.map((w) => `${w.name} (key ID ${w.keyId}, at ${w.cosignedAt})`);
  return `Cosigned by ${witnesses.length === 1 ? 'one witness' : `${witnesses.length} witnesses`}: ${names.join('; ')}.`;
}

/** What the report's words mean (docs/reports.md, "Definitions"). */
export const DEFINITIONS: readonly (readonly [string, string])[] = [
  [
    'user data',
    'A request for data about identified users or installations: their submissions, samples or telemetry. Disclosed only on a request verified under the jurisdiction of the site that holds the data.',
  ],
  [
    'technical expertise',
    'A request for technical information that identifies no user: the analysis of a threat, indicators of compromise, verdicts on files or statistics. Answered with a STIX 2.1 bundle and aggregate figures.',
  ],
  ['law enforcement', 'Police and other criminal investigation authorities.'],
  ['government', 'Ministries, agencies and regulators acting outside a criminal investigation.'],
  ['court', 'A court or a judge, by order or warrant.'],
  ['other', 'Any other public authority (for example a parliament or a data protection authority).'],
  [
    'rejected: legal requirements not met',
    'The request was not valid under the law that applies: no proper legal basis, wrong form, or the jurisdiction rule forbids disclosure.',
  ],
  ['rejected: no data', 'The request was valid, but nothing that it asks for is held.'],
  ['rejected: out of scope', 'The request asks for something this service does not provide or hold.'],
  ['withdrawn', 'The authority took the request back before it was answered.'],
  [
    'partially fulfilled',
    'Some of what was asked was disclosed; the rest was withheld (and the package says why).',
  ],
  ['open', 'Not answered yet at the checkpoint of the report.'],
];
