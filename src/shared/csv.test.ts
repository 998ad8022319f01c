import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { writeCsv } from './csv.js';

describe('writeCsv', () => {
  describe('when a text field begins like a spreadsheet formula', () => {
    it.each([
      ['=HYPERLINK("http://evil.example","x")', `"'=HYPERLINK(""http://evil.example"",""x"")"`],
      ['+cmd|/C calc!A0', `'+cmd|/C calc!A0`],
      ['-2+3', `'-2+3`],
      ['@SUM(A1:A9)', `'@SUM(A1:A9)`],
      ['\t=1+1', `'\t=1+1`],
      ['＝1+1', `'＝1+1`],
    ])('prefixes %j with a single quote', (text, written) => {
      expect(writeCsv([['threat'], [text]])).toBe(`threat\r\n${written}\r\n`);
    });
  });

  describe('when fields need no escaping', () => {
    it('writes them as RFC 4180 with CRLF, numbers and booleans as they read', () => {
      expect(
        writeCsv([
          ['a', 'b', 'c', 'd'],
          ['Trojan.Win32, "x"', -5, true, false],
          ['', 0, 1.5, 'x=1'],
        ]),
      ).toBe('a,b,c,d\r\n"Trojan.Win32, ""x""",-5,true,false\r\n,0,1.5,x=1\r\n');
      expect(writeCsv([['a'], ['b']], 'lf')).toBe('a\nb\n');
    });

    it('reads back as written, but for the quote before a formula', () => {
      fc.assert(
        fc.property(
          // Two columns or more: a lone empty field is an empty line, which readers differ on.
          fc.array(fc.array(fc.string(), { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 5 }),
          (rows) => {
            const width = rows[0]!.length;
            const table = rows.map((r) => Array.from({ length: width }, (_, i) => r[i] ?? ''));
            const read = parse(writeCsv(table), { relax_column_count: false }) as string[][];
            const expected = table.map((r) =>
              r.map((cell) => (/^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/.test(cell) ? `'${cell}` : cell)),
            );
            expect(read).toEqual(expected);
          },
        ),
      );
    });
  });
});
