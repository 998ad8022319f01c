export type Align = 'left' | 'right';

export interface Column {
  readonly header: string;
  readonly align?: Align;
}

/**
 * A plain-text table with a header rule, for terminals and CI logs alike.
 *
 * @example
 * console.log(renderTable([{ header: 'phase' }, { header: 'MB/s', align: 'right' }], [['http', '91.2']]));
 */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        const width = widths[i] ?? 0;
        return columns[i]?.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join(' | ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('-|-');
  return [
    line(columns.map((c) => c.header)),
    rule,
    ...rows.map((row) => line(columns.map((_, i) => row[i] ?? ''))),
  ].join('\n');
}

export function fixed(value: number, digits = 1): string {
  return value.toFixed(digits);
}

/** "91.2 (88.0–93.5)": a median with its range. */
export function withRange(summary: { median: number; min: number; max: number }, digits = 1): string {
  return `${summary.median.toFixed(digits)} (${summary.min.toFixed(digits)}–${summary.max.toFixed(digits)})`;
}

export function mebibytes(bytes: number | undefined, digits = 0): string {
  return bytes === undefined ? 'n/a' : `${(bytes / (1024 * 1024)).toFixed(digits)} MiB`;
}

export function passFail(pass: boolean): string {
  return pass ? 'PASS' : 'FAIL';
}
