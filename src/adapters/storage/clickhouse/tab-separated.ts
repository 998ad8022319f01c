import { STATS_ROW_COLUMNS } from '../../../ports/storage.js';

const FIELD_SEPARATOR = 0x1f;
const NEWLINE = 0x0a;
const TAB = 0x09;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const ZERO = 0x30;
const CAPITAL_N = 0x4e;
const FIELDS = STATS_ROW_COLUMNS.length;
const BAD_TS = 'ts is not YYYY-MM-DD HH:MM:SS.mmm';
/** `YYYY-MM-DD HH:MM:SS`: the part of `ts` before its milliseconds. */
const SECONDS_LENGTH = 19;

/**
 * Turns rows of the load format (`STATS_ROW_COLUMNS`, U+001F between fields) into
 * ClickHouse `TabSeparated` rows of the columns `TAB_SEPARATED_COLUMNS`, chunk by chunk, so a
 * load streams without building a second copy of every row. ClickHouse reads the load
 * format itself (`CustomSeparated`) only from version 20.5 on; 18.16 reads `TabSeparated`.
 *
 * - `ts` (`YYYY-MM-DD HH:MM:SS.mmm`) becomes two fields, the seconds and the milliseconds
 *   (without leading zeros: 18.16 refuses `007` as a UInt16);
 * - an empty field becomes `\N` (null; ClickHouse refuses it where the column is not nullable);
 * - a backslash is escaped (the only character of the load format TabSeparated escapes: fields
 *   never hold control characters);
 * - `load_seq` is appended to every row.
 *
 * A row may be split across chunks: the converter keeps its place between calls.
 *
 * @example
 * const convert = new TabSeparatedRows(42);
 * for (const chunk of rows) stream.push(convert.push(chunk));
 * convert.end();
 */
export class TabSeparatedRows {
  readonly #suffix: Buffer;
  #field = 0;
  #fieldLength = 0;
  /** Inside `ts`, after its dot: milliseconds read so far (-1: before the dot). */
  #milliseconds = -1;
  #millisecondDigits = 0;
  #rows = 0;

  constructor(loadSeq: number) {
    this.#suffix = Buffer.from(`\t${loadSeq}\n`);
  }

  /** Rows completed so far. */
  get rows(): number {
    return this.#rows;
  }

  /**
   * One pass over the bytes with the state in locals (written back at the end): this runs on
   * the event loop for every byte a site loads, and private-field reads per byte cost several
   * times the copy itself.
   */
  push(chunk: Uint8Array): Buffer {
    let newlines = 0;
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) newlines += 1;
    const suffix = this.#suffix;
    const suffixLength = suffix.length;
    // Worst case: every byte a backslash, every field empty, every row its suffix.
    const out = Buffer.allocUnsafe(2 * chunk.length + (newlines + 1) * (suffixLength + 16));
    const length = chunk.length;
    let field = this.#field;
    let fieldLength = this.#fieldLength;
    let milliseconds = this.#milliseconds;
    let millisecondDigits = this.#millisecondDigits;
    let rows = this.#rows;
    let o = 0;
    for (let i = 0; i < length; i += 1) {
      let byte = chunk[i]!;
      if (field !== 0) {
        // Most bytes: neither a separator, a line feed nor a backslash.
        if (byte > BACKSLASH || (byte > FIELD_SEPARATOR && byte !== BACKSLASH)) {
          const start = i;
          do {
            out[o++] = byte;
            i += 1;
            if (i === length) break;
            byte = chunk[i]!;
          } while (byte > BACKSLASH || (byte > FIELD_SEPARATOR && byte !== BACKSLASH));
          fieldLength += i - start;
          if (i === length) break;
        }
        if (byte === BACKSLASH) {
          out[o++] = BACKSLASH;
          out[o++] = BACKSLASH;
          fieldLength += 1;
          continue;
        }
        if (byte !== FIELD_SEPARATOR && byte !== NEWLINE) {
          out[o++] = byte;
          fieldLength += 1;
          continue;
        }
        if (fieldLength === 0) {
          out[o++] = BACKSLASH;
          out[o++] = CAPITAL_N;
        }
      } else if (byte !== FIELD_SEPARATOR && byte !== NEWLINE) {
        fieldLength += 1;
        if (milliseconds >= 0) {
          const digit = byte - ZERO;
          if (digit < 0 || digit > 9 || millisecondDigits === 3) this.#fail(rows, BAD_TS);
          milliseconds = milliseconds * 10 + digit;
          millisecondDigits += 1;
        } else if (byte === DOT) {
          if (fieldLength !== SECONDS_LENGTH + 1) this.#fail(rows, BAD_TS);
          milliseconds = 0;
          out[o++] = TAB;
        } else {
          out[o++] = byte;
        }
        continue;
      } else {
        // The end of `ts`: its milliseconds, without leading zeros.
        if (millisecondDigits !== 3) this.#fail(rows, BAD_TS);
        if (milliseconds >= 100) out[o++] = ZERO + Math.floor(milliseconds / 100);
        if (milliseconds >= 10) out[o++] = ZERO + (Math.floor(milliseconds / 10) % 10);
        out[o++] = ZERO + (milliseconds % 10);
        milliseconds = -1;
        millisecondDigits = 0;
      }
      if (byte === FIELD_SEPARATOR) {
        out[o++] = TAB;
        field += 1;
        if (field >= FIELDS) this.#fail(rows, 'more fields than the load format has');
      } else {
        if (field !== FIELDS - 1) this.#fail(rows, 'fewer fields than the load format has');
        for (let s = 0; s < suffixLength; s += 1) out[o++] = suffix[s]!;
        field = 0;
        rows += 1;
      }
      fieldLength = 0;
    }
    this.#field = field;
    this.#fieldLength = fieldLength;
    this.#milliseconds = milliseconds;
    this.#millisecondDigits = millisecondDigits;
    this.#rows = rows;
    return out.subarray(0, o);
  }

  /** Throws unless the rows ended with a complete row. */
  end(): void {
    if (this.#field !== 0 || this.#fieldLength !== 0)
      this.#fail(this.#rows, 'the last row does not end in a line feed');
  }

  #fail(rows: number, problem: string): never {
    this.#rows = rows;
    throw new Error(`load format, row ${rows + 1}: ${problem}`);
  }
}
