import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assertNoPersonalData } from './personal-data-guard.js';

const installation = randomUUID();
const unnamed = randomUUID();
const context = {
  forbidden: [installation, 'the PC of Anna Schmidt'],
  installationsAmong: async (ids: readonly string[]) => ids.filter((id) => id === installation),
};
const csv = (rows: string) => Buffer.from(`hash,kind,verdict,threat,first_seen\r\n${rows}`);
const stix = (objects: unknown[]) => Buffer.from(JSON.stringify({ type: 'bundle', objects }));

async function codeOf(files: Map<string, Buffer>, ctx = context): Promise<string | undefined> {
  try {
    await assertNoPersonalData(files, ctx);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe('assertNoPersonalData', () => {
  it('passes a technical package', async () => {
    const files = new Map([
      ['hashes.csv', csv('44d88612fea8a8f36de82e1278abb02f,md5,malicious,EICAR,2021-01-01T00:00:00Z\r\n')],
      ['indicators.stix.json', stix([{ type: 'indicator', id: `indicator--${randomUUID()}` }])],
      [
        'statistics.json',
        Buffer.from(
          JSON.stringify({ rows: [{ day: '2021-01-01', threat: 'EICAR', events: 3, installations: 2 }] }),
        ),
      ],
    ]);
    expect(await codeOf(files)).toBeUndefined();
  });

  const refused: [string, Map<string, Buffer>][] = [
    [
      'an installation id, even inside another value',
      new Map([['hashes.csv', csv(`x,md5,malicious,T-${installation},2021\r\n`)]]),
    ],
    [
      'an installation id the scope did not name',
      new Map([['hashes.csv', csv(`x,md5,malicious,${unnamed.toUpperCase()},2021\r\n`)]]),
    ],
    [
      'the scope’s free text',
      new Map([['hashes.csv', csv('x,md5,malicious,the PC of Anna Schmidt,2021\r\n')]]),
    ],
    [
      'a STIX object that describes people',
      new Map([['indicators.stix.json', stix([{ type: 'user-account' }])]]),
    ],
    [
      'a statistics row with more than counts',
      new Map([
        ['statistics.json', Buffer.from(JSON.stringify({ rows: [{ day: 'x', installation: 'y' }] }))],
      ]),
    ],
    ['a CSV with other columns', new Map([['hashes.csv', Buffer.from('hash,filename\r\n')]])],
    ['a file of another kind', new Map([['user-data/zurich/x.json', Buffer.from('{}')]])],
  ];
  for (const [what, files] of refused) {
    it(`refuses ${what}`, async () => {
      const ctx =
        what === 'an installation id the scope did not name'
          ? {
              forbidden: [],
              installationsAmong: async (ids: readonly string[]) => ids.filter((id) => id === unnamed),
            }
          : context;
      expect(await codeOf(files, ctx)).toBe('PERSONAL_DATA_IN_TECHNICAL_PACKAGE');
    });
  }
});
