import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GlasshouseError } from '../../shared/errors.js';
import {
  FINAL_STATES,
  LEGAL_ACTIONS,
  LEGAL_STATES,
  type LegalState,
  REJECTION_REASONS,
  type RejectionReason,
} from './legal-request.js';
import { actionsFrom, step, targetsOf } from './legal-state-machine.js';

/** The diagram, written out independently of the table under test. */
const ALLOWED_EDGES = new Set([
  'received->in_verification',
  'in_verification->in_verification',
  'in_verification->verified',
  'in_verification->rejected',
  'verified->fulfilled',
  'verified->partially_fulfilled',
  'verified->rejected',
  'received->rejected',
  'received->withdrawn',
  'in_verification->withdrawn',
  'verified->withdrawn',
]);

const attempt = fc.record({
  action: fc.constantFrom(...LEGAL_ACTIONS),
  to: fc.constantFrom(...LEGAL_STATES),
  reason: fc.constantFrom<RejectionReason | null>(null, ...REJECTION_REASONS),
});

describe('legal state machine', () => {
  describe('when random actions are tried in sequence', () => {
    it('only ever takes allowed edges, and a refused step changes nothing', () => {
      fc.assert(
        fc.property(fc.array(attempt, { maxLength: 30 }), (attempts) => {
          let state: LegalState = 'received';
          let reason: RejectionReason | null = null;
          for (const a of attempts) {
            let next: { state: LegalState; reason: RejectionReason | null } | undefined;
            try {
              next = step(state, a.action, a.to, a.reason);
            } catch (error) {
              expect(error).toBeInstanceOf(GlasshouseError);
              expect((error as GlasshouseError).code).toBe('INVALID_TRANSITION');
            }
            if (next === undefined) continue;
            expect(ALLOWED_EDGES.has(`${state}->${next.state}`)).toBe(true);
            expect(FINAL_STATES.includes(state)).toBe(false);
            expect(next.state === 'rejected').toBe(next.reason !== null);
            state = next.state;
            reason = next.reason;
          }
          expect(LEGAL_STATES).toContain(state);
          if (state === 'rejected') expect(REJECTION_REASONS).toContain(reason);
        }),
        { numRuns: 2000 },
      );
    });
  });

  describe('when the table is read as a graph', () => {
    it('has exactly the edges of the diagram', () => {
      const edges = new Set<string>();
      for (const from of LEGAL_STATES) {
        for (const action of LEGAL_ACTIONS)
          for (const to of targetsOf(from, action)) edges.add(`${from}->${to}`);
      }
      expect([...edges].sort()).toEqual([...ALLOWED_EDGES].sort());
    });

    it('accepts no action in a final state, and withdraw in every open one', () => {
      for (const state of FINAL_STATES) expect(actionsFrom(state)).toEqual([]);
      for (const state of ['received', 'in_verification', 'verified'] as const) {
        expect(actionsFrom(state)).toContain('withdraw');
      }
    });

    it('lets only confirm_verification reach verified, and only from in_verification', () => {
      for (const from of LEGAL_STATES) {
        for (const action of LEGAL_ACTIONS) {
          if (targetsOf(from, action).includes('verified')) {
            expect([from, action]).toEqual(['in_verification', 'confirm_verification']);
          }
        }
      }
    });
  });

  describe('when a rejection is stepped', () => {
    it('requires a reason the action may give', () => {
      expect(() => step('verified', 'fulfil', 'rejected', null)).toThrow(/reason/);
      expect(() => step('verified', 'fulfil', 'rejected', 'out_of_scope')).toThrow(/reason/);
      expect(step('verified', 'fulfil', 'rejected', 'no_data')).toEqual({
        state: 'rejected',
        reason: 'no_data',
      });
      expect(() => step('received', 'withdraw', 'withdrawn', 'no_data')).toThrow(/only a rejection/);
    });
  });
});
