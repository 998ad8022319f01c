import { describe, expect, it } from 'vitest';
import { parseClickHouseUrl } from './clickhouse-stats-store.js';
import { endsWithCompleteRow, tabSeparatedRows } from './tab-separated.js';

const S = '\u001f';
const ROW = `2026-11-23 10:00:00.007${S}0b7c1a52-9d1e-4f3a-8c2b-1a2b3c4d5e01${S}scan${S}DE${S}${S}${S}clean${S}A\\B 'q'${S}${S}linux\n`;

describe('tabSeparatedRows', () => {
  it('turns each field separator into a tab and copies the rest as it is', () => {
    const rows = ROW.replace('\\', '/').repeat(3);
    const chunk = Buffer.from(rows);
    const out = tabSeparatedRows(chunk);
    expect(Buffer.from(out).toString()).toBe(rows.replaceAll(S, '\t'));
    expect(chunk.toString(), 'the input is not changed').toBe(rows);
  });

  it('doubles every backslash and changes nothing else', () => {
    const rows = `\\${ROW}${ROW.replace('A\\B', 'A\\\\B\\')}`;
    expect(Buffer.from(tabSeparatedRows(Buffer.from(rows))).toString()).toBe(
      rows.replaceAll('\\', '\\\\').replaceAll(S, '\t'),
    );
  });

  it('reads a chunk that is a view into a larger buffer', () => {
    const whole = Buffer.from(`xx${ROW}yy`);
    const chunk = whole.subarray(2, 2 + Buffer.byteLength(ROW));
    expect(Buffer.from(tabSeparatedRows(chunk)).toString()).toBe(
      ROW.replaceAll('\\', '\\\\').replaceAll(S, '\t'),
    );
  });
});

describe('endsWithCompleteRow', () => {
  it('looks at the last byte of the last chunk that has one', () => {
    expect(endsWithCompleteRow([Buffer.from(ROW), Buffer.alloc(0)])).toBe(true);
    expect(endsWithCompleteRow([Buffer.from(ROW), Buffer.from(ROW.slice(0, -1))])).toBe(false);
    expect(endsWithCompleteRow([])).toBe(true);
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
