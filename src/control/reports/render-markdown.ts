import { AUTHORITY_KINDS, LEGAL_CATEGORIES, PRIVACY_TYPES, REJECTION_REASONS } from './desk-entries.js';
import { comparisonRows, countryCells } from './render-csv.js';
import type { Report } from './report.js';
import type { LegalOutcomes } from './report-numbers.js';
import {
  COUNTING_RULES,
  headline,
  label,
  periodTitle,
  RESIDENCY_CAVEAT,
  shareText,
  type VerifyTarget,
  verifyCommand,
  witnessText,
} from './report-text.js';

/**
 * The report as Markdown: the headline, the counting rules and every table.
 *
 * @example
 * writeFileSync('report.md', renderMarkdown(report));
 */
export function renderMarkdown(r: Report, verify?: VerifyTarget): string {
  const l = r.legal;
  const sections = [
    `# ${periodTitle(r)}`,
    headline(r),
    `## Counting rules\n\n${COUNTING_RULES.map((rule) => `- ${rule}`).join('\n')}`,
    `## Legal requests by country\n\n${table(
      ['Country', 'Code', 'Requests', ...LEGAL_CATEGORIES.map(label), 'Rejected', 'Open'],
      l.byCountry.map(countryCells),
    )}`,
    `## Outcomes by category\n\n${table(
      ['Outcome', 'All', ...LEGAL_CATEGORIES.map(label)],
      outcomeRows(l.byOutcome).map(([name, all], i) => [
        name,
        all,
        ...LEGAL_CATEGORIES.map((k) => outcomeRows(l.byCategoryOutcome[k])[i]![1]),
      ]),
    )}\n\nRejected: ${l.rejected} of ${l.total}, ${shareText(l.rejectedShare)}.`,
    `## By authority\n\n${table(
      ['Authority', 'Requests'],
      AUTHORITY_KINDS.map((k) => [label(k), l.byAuthorityKind[k]]),
    )}`,
    `## User requests about their own data\n\n${table(
      ['Type', 'Requests', 'Completed', 'Rejected', 'Open'],
      PRIVACY_TYPES.map((t): (string | number)[] => {
        const o = r.privacy.byTypeOutcome[t];
        return [t, r.privacy.byType[t], o.completed, o.rejected, o.open];
      }).concat([
        [
          'total',
          r.privacy.total,
          r.privacy.byOutcome.completed,
          r.privacy.byOutcome.rejected,
          r.privacy.byOutcome.open,
        ],
      ]),
    )}`,
    ...(r.halves.length === 0
      ? []
      : [
          `## The halves of ${r.period}\n\n${table(
            [
              'Period',
              'Requests',
              'Countries',
              'Technical expertise',
              'User data',
              'Rejected',
              'User requests',
            ],
            [
              ...r.halves.map((h) => [
                h.period,
                h.legal.total,
                h.legal.countries,
                h.legal.byCategory.technical_expertise,
                h.legal.byCategory.user_data,
                h.legal.rejected,
                h.privacy.total,
              ]),
              [
                r.period,
                l.total,
                l.countries,
                l.byCategory.technical_expertise,
                l.byCategory.user_data,
                l.rejected,
                r.privacy.total,
              ],
            ],
          )}\n\nCounts add up; countries are the distinct union.`,
        ]),
    `## Compared with ${r.previous.period}\n\n${table(
      ['Metric', r.period, r.previous.period, 'Change'],
      comparisonRows(r).map(([m, now, before]) => [m, now, before, change(now, before)]),
    )}`,
    `## Where the data lives\n\n${RESIDENCY_CAVEAT}\n\n${table(
      ['Site', 'Installations', 'Share'],
      r.residency.bySite.map((s) => [s.site, s.installations, `${s.share}%`]),
    )}${
      r.residency.policy === null
        ? ''
        : `\n\nPolicy in force: version ${r.residency.policy.version} since ${r.residency.policy.effectiveFrom}, default site ${r.residency.policy.default}.`
    }`,
    `## Checkpoint\n\nComputed at ${r.checkpoint.origin}, tree size ${r.checkpoint.size}, root \`${r.checkpoint.rootHash}\`. ${witnessText(r)} Verify with:\n\n\`\`\`sh\n${verifyCommand(r, verify)}\n\`\`\`\n\n\`\`\`\n${r.checkpoint.note.trimEnd()}\n\`\`\``,
  ];
  return `${sections.join('\n\n')}\n`;
}

/** Outcome name and count, in the partition's order. */
export function outcomeRows(o: LegalOutcomes): [string, number][] {
  return [
    ['fulfilled', o.fulfilled],
    ['partially fulfilled', o.partially_fulfilled],
    ...REJECTION_REASONS.map((reason): [string, number] => [
      `rejected: ${label(reason)}`,
      o.rejected[reason],
    ]),
    ['withdrawn', o.withdrawn],
    ['still open', o.open],
  ];
}

export function change(now: number, before: number): string {
  const delta = now - before;
  const sign = delta > 0 ? '+' : '';
  return before === 0 ? `${sign}${delta}` : `${sign}${delta} (${sign}${Math.round((delta * 100) / before)}%)`;
}

function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]) =>
    `| ${cells.map((c) => String(c).replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
