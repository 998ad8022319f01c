import { describe, expect, it } from 'vitest';
import { parseClickHouseUrl } from './clickhouse-stats-store.js';
import { TabSeparatedRows } from './tab-separated.js';

const S = '\u001f';
const ROW = `2026-11-23 10:00:00.007${S}0b7c1a52-9d1e-4f3a-8c2b-1a2b3c4d5e01${S}scan${S}DE${S}${S}${S}clean${S}A\\B 'q'${S}${S}linux\n`;

function convert(chunks: readonly string[], loadSeq = 42): string {
  const rows = new TabSeparatedRows(loadSeq);
  const out = chunks.map((chunk) => rows.push(Buffer.from(chunk)).toString()).join('');
  rows.end();
  return out;
}

describe('TabSeparatedRows', () => {
  it('splits ts into seconds and milliseconds, nulls empty fields, escapes backslashes and appends load_seq', () => {
    expect(convert([ROW])).toBe(
      "2026-11-23 10:00:00\t7\t0b7c1a52-9d1e-4f3a-8c2b-1a2b3c4d5e01\tscan\tDE\t\\N\t\\N\tclean\tA\\\\B 'q'\t\\N\tlinux\t42\n",
    );
  });

  it('gives the same bytes however the rows are cut into chunks', () => {
    const rows = ROW.repeat(3);
    const whole = convert([rows]);
    for (let cut = 0; cut <= rows.length; cut += 1) {
      expect(convert([rows.slice(0, cut), rows.slice(cut)])).toBe(whole);
    }
  });

  it('refuses rows that are not the load format', () => {
    const fields = ROW.slice(0, -1).split(S);
    for (const bad of [
      `${fields.slice(0, 9).join(S)}\n`,
      `${[...fields, 'x'].join(S)}\n`,
      ROW.replace('.007', '.07'),
      ROW.replace('.007', '.0071'),
      ROW.replace('.007', ''),
      ROW.replace('10:00:00.007', '10:00.007'),
      ROW.replace('.007', '.0x7'),
      ROW.slice(0, -1),
    ]) {
      expect(() => convert([bad]), JSON.stringify(bad)).toThrow(/^load format, row 1: /);
    }
  });
});

describe('parseClickHouseUrl', () => {
  it('reads the HTTP origin and the database', () => {
    expect(parseClickHouseUrl('clickhouse://ch.zurich.internal:8123/glasshouse')).toEqual({
      origin: 'http://ch.zurich.internal:8123',
      database: 'glasshouse',
    });
    expect(parseClickHouseUrl('clickhouse://ch')).toEqual({ origin: 'http://ch:8123', database: 'default' });
    expect(parseClickHouseUrl('clickhouses://ch/site_zurich')).toEqual({
      origin: 'https://ch:8443',
      database: 'site_zurich',
    });
  });

  it('refuses other schemes, credentials in the URL (without repeating them) and database names that need quoting', () => {
    for (const url of [
      'http://ch:8123/db',
      'clickhouse://u:secret@ch/db',
      'clickhouse://ch/a-b',
      'not a url',
    ]) {
      expect(() => parseClickHouseUrl(url)).toThrow(
        expect.objectContaining({
          code: 'INVALID_STORAGE_URL',
          message: expect.not.stringContaining('secret'),
        }),
      );
    }
  });
});
