import { LegalError } from './legal-errors.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const STIX_TYPES = new Set(['identity', 'indicator', 'malware', 'relationship', 'report']);
const STATISTICS_KEYS = new Set(['day', 'threat', 'events', 'installations']);
const CSV_HEADER = 'hash,kind,verdict,threat,first_seen';

export interface GuardContext {
  /** Values that must not appear anywhere: the scope's installation ids, its free text. */
  readonly forbidden: readonly string[];
  /** Which of these UUIDs are installations (the registry's `locate`). */
  readonly installationsAmong: (ids: readonly string[]) => Promise<readonly string[]>;
}

/**
 * The last check before a technical package is written: it must hold no personal data.
 * Each file must have the shape the desk writes (STIX objects of the technical types only,
 * the hash CSV's columns, statistics rows of counts), no forbidden value may appear in any
 * byte, and no UUID in it may be an installation id. Throws
 * `PERSONAL_DATA_IN_TECHNICAL_PACKAGE`, which is a 500: it means a bug, not a bad request.
 */
export async function assertNoPersonalData(
  files: ReadonlyMap<string, Buffer>,
  context: GuardContext,
): Promise<void> {
  const uuids = new Set<string>();
  for (const [name, bytes] of files) {
    const text = bytes.toString('utf8');
    assertShape(name, text);
    for (const value of context.forbidden) {
      if (value.length >= 4 && text.includes(value)) refuse(`${name} holds a value from the request's scope`);
    }
    for (const match of text.matchAll(UUID)) uuids.add(match[0].toLowerCase());
  }
  const installations = await context.installationsAmong([...uuids]);
  if (installations.length > 0) refuse('the package holds an installation id');
}

function assertShape(name: string, text: string): void {
  switch (name) {
    case 'indicators.stix.json': {
      const bundle = JSON.parse(text) as { objects?: { type?: unknown }[] };
      for (const object of bundle.objects ?? []) {
        if (!STIX_TYPES.has(String(object.type)))
          refuse(`the STIX bundle holds a ${String(object.type)} object`);
      }
      return;
    }
    case 'hashes.csv':
      if (!text.startsWith(`${CSV_HEADER}\r\n`)) refuse('hashes.csv has unexpected columns');
      return;
    case 'statistics.json': {
      const { rows } = JSON.parse(text) as { rows: Record<string, unknown>[] };
      for (const row of rows) {
        if (Object.keys(row).some((key) => !STATISTICS_KEYS.has(key)))
          refuse('a statistics row has other fields');
      }
      return;
    }
    default:
      refuse(`a technical package holds no ${name}`);
  }
}

function refuse(message: string): never {
  throw new LegalError('PERSONAL_DATA_IN_TECHNICAL_PACKAGE', message);
}
