#!/usr/bin/env node
// Writes the synthetic example requests: examples/legal-requests.csv and
// examples/privacy-requests.csv, in the layouts of the legal and privacy desks' historical
// imports. Deterministic (a seeded generator): running it again gives the same bytes.
// The figures it reproduces are those of a vendor's published report (docs/reports.md):
//   2021-H2: 109 requests from 12 countries, at least 36% rejected, 92 technical expertise
//   2021-H1: 105 requests from 17 countries, 89 technical expertise
//   2021:    214 requests from 17 countries, 181 technical expertise
//   2020:    160 requests from 15 countries, 132 technical expertise
//   2021:    2,252 user requests
// Usage: node examples/generate.mjs [out-dir]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';

const outDir = process.argv[2] ?? new URL('.', import.meta.url).pathname;

/** mulberry32: a small seeded PRNG, so the files never change between runs. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(20211231);
const pick = (weighted) => {
  const total = weighted.reduce((s, [, w]) => s + w, 0);
  let x = random() * total;
  for (const [value, w] of weighted) {
    x -= w;
    if (x < 0) return value;
  }
  return weighted[weighted.length - 1][0];
};
const shuffle = (list) => {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
};
const DAY = 86_400_000;
const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
const dayIn = (first, last) => {
  const a = Date.parse(`${first}T00:00:00Z`);
  const b = Date.parse(`${last}T00:00:00Z`);
  return a + Math.floor(random() * ((b - a) / DAY + 1)) * DAY;
};

const COUNTRIES_2021 = ['DE', 'FR', 'US', 'IT', 'ES', 'NL', 'BR', 'IN', 'PL', 'CH', 'CA', 'JP', 'AT', 'BE', 'MX', 'KR', 'CZ'];
const COUNTRIES_2020 = ['DE', 'FR', 'US', 'IT', 'ES', 'NL', 'BR', 'IN', 'PL', 'CH', 'GB', 'AU', 'SE', 'PT', 'AR'];

/** Each half: its figures, and the countries its requests come from. */
const HALVES = [
  { first: '2020-01-01', last: '2020-06-30', total: 76, technical: 63, countries: COUNTRIES_2020, rejected: 24, open: 0 },
  { first: '2020-07-01', last: '2020-12-31', total: 84, technical: 69, countries: COUNTRIES_2020.slice(0, 13), rejected: 27, open: 0 },
  { first: '2021-01-01', last: '2021-06-30', total: 105, technical: 89, countries: COUNTRIES_2021, rejected: 35, open: 0 },
  // Five still open when the half's report was made: the share is a lower bound.
  { first: '2021-07-01', last: '2021-12-31', total: 109, technical: 92, countries: COUNTRIES_2021.slice(0, 12), rejected: 40, open: 5 },
];
const AUTHORITIES = [['law_enforcement', 60], ['government', 25], ['court', 12], ['other', 3]];
const REASONS = [['legal_requirements_not_met', 60], ['no_data', 25], ['out_of_scope', 15]];

function legalRows() {
  const rows = [];
  for (const half of HALVES) {
    const n = half.total;
    // Every listed country asks at least once; the rest follow a long tail.
    const countries = shuffle([
      ...half.countries,
      ...Array.from({ length: n - half.countries.length }, () =>
        pick(half.countries.map((c, i) => [c, 1 / (i + 1)])),
      ),
    ]);
    const categories = shuffle([
      ...Array(half.technical).fill('technical_expertise'),
      ...Array(n - half.technical).fill('user_data'),
    ]);
    const withdrawn = 2;
    const partially = 4;
    const outcomes = shuffle([
      ...Array(half.rejected).fill('rejected'),
      ...Array(withdrawn).fill('withdrawn'),
      ...Array(partially).fill('partially_fulfilled'),
      ...Array(n - half.rejected - withdrawn - partially).fill('fulfilled'),
    ]);
    const half_rows = [];
    for (let i = 0; i < n; i++) {
      const received = dayIn(half.first, half.last);
      const outcome = outcomes[i];
      half_rows.push({
        received,
        country: countries[i],
        authority: pick(AUTHORITIES),
        category: categories[i],
        outcome,
        reason: outcome === 'rejected' ? pick(REASONS) : '',
        closed: iso(received + (3 + Math.floor(random() * 57)) * DAY),
      });
    }
    // The open requests are the latest received of the half.
    half_rows.sort((a, b) => a.received - b.received);
    for (let k = 0; k < half.open; k++) {
      const row = half_rows[n - 1 - k];
      const swap = half_rows.find((r, i) => i < n - half.open && r.outcome === 'fulfilled' && !r.swapped);
      if (row.outcome !== 'fulfilled') {
        swap.outcome = row.outcome;
        swap.reason = row.reason;
        swap.swapped = true;
      }
      row.outcome = '';
      row.reason = '';
      row.closed = '';
    }
    rows.push(...half_rows);
  }
  return rows.map((r) => [iso(r.received), r.country, r.authority, r.category, r.outcome, r.reason, r.closed]);
}

const PRIVACY_HALVES = [
  { first: '2020-01-01', last: '2020-06-30', total: 702 },
  { first: '2020-07-01', last: '2020-12-31', total: 811 },
  { first: '2021-01-01', last: '2021-06-30', total: 1080 },
  { first: '2021-07-01', last: '2021-12-31', total: 1172 },
];

function privacyRows() {
  const rows = [];
  for (const half of PRIVACY_HALVES) {
    for (let i = 0; i < half.total; i++) {
      const received = dayIn(half.first, half.last);
      const outcome = random() < 0.93 ? 'completed' : 'rejected';
      const type = pick([['inventory', 50], ['export', 30], ['erasure', 20]]);
      rows.push([received, type, outcome, iso(received + Math.floor(random() * 30) * DAY)]);
    }
  }
  return rows.sort((a, b) => a[0] - b[0]).map(([received, ...rest]) => [iso(received), ...rest]);
}

// Within a half, the legal rows are written in received order, as a desk's export would be.
const legal = legalRows();
legal.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
// Every CSV the project writes goes through csv-stringify, formulas escaped (see src/shared/csv.ts).
const csv = (header, rows) => stringify([header, ...rows], { escape_formulas: true, record_delimiter: 'unix' });
writeFileSync(
  join(outDir, 'legal-requests.csv'),
  csv(['received_at', 'requester_country', 'authority_kind', 'category', 'outcome', 'reason', 'closed_at'], legal),
);
writeFileSync(join(outDir, 'privacy-requests.csv'), csv(['received_at', 'type', 'outcome', 'closed_at'], privacyRows()));
