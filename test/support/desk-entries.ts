import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { AuditEntry } from '../../src/ports/audit-sink.js';

/*
 * Entries to the contract of docs/log.md ("The desks' entries"), as the legal and privacy
 * desks write them, for tests that run before (or without) the desks.
 */

export const FINAL_LEGAL_STATES = ['fulfilled', 'partially_fulfilled', 'rejected', 'withdrawn'] as const;
export const OPEN_LEGAL_STATES = ['received', 'in_verification', 'verified'] as const;
const REASONS = ['legal_requirements_not_met', 'no_data', 'out_of_scope'] as const;
const ACTOR = { role: 'legal', token: 'test' } as const;

/** One request as the test sees it: its facts and the states it went through, in order. */
export interface LegalHistory {
  readonly request: string;
  readonly receivedAt: string;
  readonly requesterCountry: string;
  readonly authorityKind: 'law_enforcement' | 'government' | 'court' | 'other';
  readonly category: 'user_data' | 'technical_expertise';
  readonly states: readonly string[];
  readonly reason: (typeof REASONS)[number];
}

export interface PrivacyHistory {
  readonly request: string;
  readonly receivedAt: string;
  readonly requestType: 'inventory' | 'export' | 'erasure';
  readonly outcome: 'completed' | 'rejected' | null;
}

/** The `legal.request` entries of a request: one per state it passed through. */
export function legalEntries(h: LegalHistory, time = '2022-01-05T10:00:00.000Z'): AuditEntry[] {
  return h.states.map((state, i) => {
    const final = (FINAL_LEGAL_STATES as readonly string[]).includes(state);
    return {
      type: 'legal.request',
      time,
      actor: ACTOR,
      request: h.request,
      event: i === 0 ? 'received' : 'transition',
      receivedAt: h.receivedAt,
      requesterCountry: h.requesterCountry,
      authorityKind: h.authorityKind,
      category: h.category,
      state,
      reason: state === 'rejected' ? h.reason : null,
      closedAt: final ? h.receivedAt : null,
      details: randomBytes(32).toString('hex'),
    };
  });
}

export function privacyEntries(h: PrivacyHistory, time = '2022-01-05T10:00:00.000Z'): AuditEntry[] {
  const base = {
    type: 'privacy.request',
    time,
    actor: { role: 'privacy', token: 'test' },
    request: h.request,
    requestType: h.requestType,
    receivedAt: h.receivedAt,
    reason: null,
    installation: randomBytes(32).toString('hex'),
  };
  const received = { ...base, event: 'received', state: 'received', outcome: null, closedAt: null };
  if (h.outcome === null) return [received];
  return [
    received,
    {
      ...base,
      event: h.outcome,
      state: h.outcome,
      outcome: h.outcome,
      reason: h.outcome === 'rejected' ? 'identity_not_verified' : null,
      closedAt: h.receivedAt,
    },
  ];
}

const date = (fromYear: number, toYear: number) =>
  fc
    .date({
      min: new Date(`${fromYear}-01-01T00:00:00Z`),
      max: new Date(`${toYear}-12-31T23:59:59Z`),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString().slice(0, 10));

/** Requests received 2020 to 2022: a few countries, every state path, some still open. */
export const legalHistory = fc.record({
  request: fc.uuid(),
  receivedAt: date(2020, 2022),
  requesterCountry: fc.constantFrom('DE', 'FR', 'US', 'BR', 'JP', 'CH', 'IN'),
  authorityKind: fc.constantFrom('law_enforcement', 'government', 'court', 'other'),
  category: fc.constantFrom('user_data', 'technical_expertise'),
  states: fc.oneof(
    fc.constantFrom(
      ['received'],
      ['received', 'in_verification'],
      ['received', 'in_verification', 'verified'],
    ),
    fc.constantFrom(...FINAL_LEGAL_STATES).map((s) => ['received', 'in_verification', s]),
  ),
  reason: fc.constantFrom(...REASONS),
}) as fc.Arbitrary<LegalHistory>;

export const privacyHistory = fc.record({
  request: fc.uuid(),
  receivedAt: date(2020, 2022),
  requestType: fc.constantFrom('inventory', 'export', 'erasure'),
  outcome: fc.constantFrom('completed', 'rejected', null),
}) as fc.Arbitrary<PrivacyHistory>;

/** Whether a request's last state is final. */
export function closed(h: LegalHistory): boolean {
  return (FINAL_LEGAL_STATES as readonly string[]).includes(h.states.at(-1)!);
}

/** The first and last day of `2021`, `2021-H1`, `2021-H2`, computed independently of src/. */
export function daysOf(period: string): [string, string] {
  const year = period.slice(0, 4);
  if (period.endsWith('H1')) return [`${year}-01-01`, `${year}-06-30`];
  if (period.endsWith('H2')) return [`${year}-07-01`, `${year}-12-31`];
  return [`${year}-01-01`, `${year}-12-31`];
}

/** The headline numbers of a period, counted the plain way, for comparison with the report. */
export function expectedLegal(histories: readonly LegalHistory[], period: string) {
  const [first, last] = daysOf(period);
  const of = histories.filter((h) => h.receivedAt >= first && h.receivedAt <= last);
  const last_ = (h: LegalHistory) => h.states.at(-1)!;
  const count = (p: (h: LegalHistory) => boolean) => of.filter(p).length;
  const rejected = count((h) => last_(h) === 'rejected');
  const open = count((h) => !closed(h));
  return {
    total: of.length,
    countries: new Set(of.map((h) => h.requesterCountry)).size,
    technical: count((h) => h.category === 'technical_expertise'),
    userData: count((h) => h.category === 'user_data'),
    fulfilled: count((h) => last_(h) === 'fulfilled'),
    partially: count((h) => last_(h) === 'partially_fulfilled'),
    withdrawn: count((h) => last_(h) === 'withdrawn'),
    rejected,
    rejectedNoData: count((h) => last_(h) === 'rejected' && h.reason === 'no_data'),
    open,
    technicalRejected: count((h) => last_(h) === 'rejected' && h.category === 'technical_expertise'),
    court: count((h) => h.authorityKind === 'court'),
    perCountry: Object.fromEntries(
      [...new Set(of.map((h) => h.requesterCountry))].map((c) => [c, count((h) => h.requesterCountry === c)]),
    ),
    share: { value: of.length === 0 ? 0 : Math.floor((100 * rejected) / of.length), atLeast: open > 0 },
  };
}

export function expectedPrivacy(histories: readonly PrivacyHistory[], period: string) {
  const [first, last] = daysOf(period);
  const of = histories.filter((h) => h.receivedAt >= first && h.receivedAt <= last);
  return {
    total: of.length,
    erasure: of.filter((h) => h.requestType === 'erasure').length,
    completed: of.filter((h) => h.outcome === 'completed').length,
    open: of.filter((h) => h.outcome === null).length,
  };
}
