import { stringify } from 'csv-stringify/sync';

export type CsvCell = string | number | boolean;

/**
 * Rows as RFC 4180 CSV, each record ended by `lineEnd`, through `csv-stringify` (never a
 * hand-written quoter). A text field that begins with `=`, `+`, `-`, `@`, a tab or a
 * carriage return (or their full-width forms) is prefixed with `'`, so that a spreadsheet
 * shows it as text and never runs it as a formula (OWASP, "CSV Injection"). Threat names
 * and other fields come from feeds and authorities: they are not ours to trust. Numbers are
 * left alone (`-1` stays a number); booleans are written `true` and `false`.
 *
 * @example
 * writeCsv([['threat', 'count'], ['=HYPERLINK("x")', 3]]); // "threat,count\r\n\"'=HYPERLINK(\"\"x\"\")\",3\r\n"
 */
export function writeCsv(rows: readonly (readonly CsvCell[])[], lineEnd: 'crlf' | 'lf' = 'crlf'): string {
  return stringify(
    rows.map((row) => [...row]),
    {
      escape_formulas: true,
      record_delimiter: lineEnd === 'crlf' ? 'windows' : 'unix',
      cast: { boolean: (value) => String(value) },
    },
  );
}
