import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { type LegalHistory, legalEntries } from '../../../test/support/desk-entries.js';
import { canonicalJson, type JsonValue } from '../../ledger/note/index.js';
import { deskStates } from './desk-entries.js';
import { parsePeriod } from './period.js';
import { CSV_TABLES, renderCsv } from './render-csv.js';
import { renderMarkdown } from './render-markdown.js';
import { REPORT_SCHEMA, REPORT_SCHEMA_VERSION, type Report, residencySnapshot } from './report.js';
import { computeReportNumbers } from './report-numbers.js';

const request = (i: number, country: string, state: string): LegalHistory => ({
  request: `r${i}`,
  receivedAt: '2021-09-01',
  requesterCountry: country,
  authorityKind: i % 2 === 0 ? 'court' : 'law_enforcement',
  category: 'user_data',
  states: ['received', state],
  reason: 'out_of_scope',
});

function reportOf(histories: readonly LegalHistory[]): Report {
  const entries = histories
    .flatMap((h) => legalEntries(h))
    .map((e) => canonicalJson(e as unknown as JsonValue));
  return {
    $schema: REPORT_SCHEMA,
    schemaVersion: REPORT_SCHEMA_VERSION,
    ...computeReportNumbers(deskStates(entries), parsePeriod('2021-H2')),
    generatedAt: '2022-01-10T00:00:00.000Z',
    checkpoint: {
      origin: 'example/control',
      size: entries.length,
      rootHash: 'x',
      note: 'note\n',
      witnesses: [],
    },
    residency: residencySnapshot({ zurich: 3, moscow: 1 }, ['zurich', 'moscow'], undefined),
  };
}

describe('renderCsv', () => {
  const report = reportOf([
    request(0, 'TW', 'fulfilled'),
    request(1, 'TW', 'rejected'),
    request(2, 'TW', 'partially_fulfilled'),
    request(3, 'DE', 'in_verification'),
  ]);

  describe('when a country name holds a comma', () => {
    it('quotes it, so that the table parses back to the report’s numbers', () => {
      const rows = parse(renderCsv(report, 'legal-requests'), { columns: true }) as Record<string, string>[];
      const taiwan = rows.filter((r) => r.cldr_territory_code === 'TW');
      expect(taiwan.map((r) => r.country)).toEqual([
        'Taiwan, Province of China',
        'Taiwan, Province of China',
      ]);
      expect(taiwan.map((r) => [r.authority_kind, r.requests, r.percent_some_data_produced])).toEqual([
        ['court', '2', '100'],
        ['law_enforcement', '1', '0'],
      ]);
      expect(rows.every((r) => r.period_ending === '2021-12-31')).toBe(true);
    });
  });

  describe('for every table', () => {
    it.each(CSV_TABLES)('writes %s as RFC 4180 with a header and equal-width rows', (table) => {
      const rows = parse(renderCsv(report, table)) as string[][];
      expect(rows.length).toBeGreaterThan(1);
      expect(new Set(rows.map((r) => r.length)).size).toBe(1);
    });
  });

  it('keeps the outcome table a partition of the total', () => {
    const rows = parse(renderCsv(report, 'legal-outcomes'), { columns: true }) as Record<string, string>[];
    const all = rows.filter((r) => r.category === 'all').reduce((s, r) => s + Number(r.requests), 0);
    expect(all).toBe(4);
  });
});

describe('renderMarkdown', () => {
  it('states the share as a lower bound while a request is open', () => {
    const md = renderMarkdown(reportOf([request(0, 'DE', 'rejected'), request(1, 'DE', 'received')]));
    expect(md).toContain('2 requests from 1 country;');
    expect(md).toContain('at least 50% rejected (1 still open)');
  });

  it('states it exactly once all are closed', () => {
    const md = renderMarkdown(reportOf([request(0, 'DE', 'rejected'), request(1, 'DE', 'withdrawn')]));
    expect(md).toContain('; 50% rejected.');
  });
});
