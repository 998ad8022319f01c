import type { Glasshouse } from '../../main.js';
import type { Actor } from '../../ports/audit-sink.js';
import type { ExampleDesks } from './example-data.js';

/** Who loads the example: named in every log entry it causes. */
const EXAMPLE_ACTOR: Actor = { role: 'legal', token: 'example' };

/** The example loader's way into a running deployment's desks. */
export function exampleDesksOf(glasshouse: Glasshouse): ExampleDesks {
  return {
    importLegalHistory: (csv) => glasshouse.legal.importHistory(csv, EXAMPLE_ACTOR),
    importPrivacyHistory: (csv) =>
      glasshouse.privacy.importHistory(csv, { ...EXAMPLE_ACTOR, role: 'privacy' }),
  };
}
