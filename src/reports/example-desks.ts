import type { Actor } from '../ledger/audit-sink.js';
import type { Glasshouse } from '../main.js';
import type { ExampleDesks } from './example-data.js';

/** Who loads the example: named in every log entry it causes. */
const EXAMPLE_ACTOR: Actor = { role: 'legal', token: 'example' };

/** The example loader's way into a running deployment's desks. */
export function exampleDesksOf(glasshouse: Glasshouse): ExampleDesks {
  const dueIn30Days = (receivedAt: string) =>
    new Date(Date.parse(`${receivedAt}T00:00:00Z`) + 30 * 86_400_000).toISOString().slice(0, 10);
  return {
    importLegalHistory: (csv) => glasshouse.legal.importHistory(csv, EXAMPLE_ACTOR),
    receiveLegal: (request) =>
      glasshouse.legal.receive(
        {
          ...request,
          authority: 'Example authority',
          legalBasis: 'Example legal basis',
          reference: 'EXAMPLE',
          scope: { installations: [], hashes: [], threats: [], from: null, to: null, text: '' },
          dueAt: dueIn30Days(request.receivedAt),
        },
        { tokenId: EXAMPLE_ACTOR.token, role: 'legal', sites: '*', person: null },
      ),
    importPrivacyHistory: (csv) =>
      glasshouse.privacy.importHistory(csv, { ...EXAMPLE_ACTOR, role: 'privacy' }),
  };
}
