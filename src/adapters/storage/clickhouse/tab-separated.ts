import { STATS_ROW_COLUMNS } from '../../../ports/storage.js';

const FIELD_SEPARATOR = 0x1f;
const NEWLINE = 0x0a;
const TAB = 0x09;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const ZERO = 0x30;
const NULL_FIELD = Buffer.from('\\N');
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

  push(chunk: Uint8Array): Buffer {
    let newlines = 0;
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) newlines += 1;
    // Worst case: every byte a backslash, every field empty, every row its suffix.
    const out = Buffer.allocUnsafe(2 * chunk.length + (newlines + 1) * (this.#suffix.length + 16));
    let o = 0;
    for (let i = 0; i < chunk.length; i += 1) {
      const byte = chunk[i]!;
      if (byte === FIELD_SEPARATOR || byte === NEWLINE) {
        o = this.#endField(out, o);
        if (byte === FIELD_SEPARATOR) {
          out[o++] = TAB;
          this.#field += 1;
          if (this.#field >= STATS_ROW_COLUMNS.length) this.#fail('more fields than the load format has');
        } else {
          if (this.#field !== STATS_ROW_COLUMNS.length - 1)
            this.#fail('fewer fields than the load format has');
          o += this.#suffix.copy(out, o);
          this.#field = 0;
          this.#rows += 1;
        }
        this.#fieldLength = 0;
        continue;
      }
      this.#fieldLength += 1;
      if (this.#field === 0) {
        o = this.#timestampByte(out, o, byte);
      } else if (byte === BACKSLASH) {
        out[o++] = BACKSLASH;
        out[o++] = BACKSLASH;
      } else {
        out[o++] = byte;
      }
    }
    return out.subarray(0, o);
  }

  /** Throws unless the rows ended with a complete row. */
  end(): void {
    if (this.#field !== 0 || this.#fieldLength !== 0) this.#fail('the last row does not end in a line feed');
  }

  #timestampByte(out: Buffer, o: number, byte: number): number {
    if (this.#milliseconds >= 0) {
      const digit = byte - ZERO;
      if (digit < 0 || digit > 9 || this.#millisecondDigits === 3)
        this.#fail('ts is not YYYY-MM-DD HH:MM:SS.mmm');
      this.#milliseconds = this.#milliseconds * 10 + digit;
      this.#millisecondDigits += 1;
      return o;
    }
    if (byte === DOT) {
      if (this.#fieldLength !== SECONDS_LENGTH + 1) this.#fail('ts is not YYYY-MM-DD HH:MM:SS.mmm');
      this.#milliseconds = 0;
      out[o++] = TAB;
      return o;
    }
    out[o++] = byte;
    return o;
  }

  #endField(out: Buffer, o: number): number {
    if (this.#field === 0) {
      if (this.#millisecondDigits !== 3) this.#fail('ts is not YYYY-MM-DD HH:MM:SS.mmm');
      o += out.write(String(this.#milliseconds), o, 'latin1');
      this.#milliseconds = -1;
      this.#millisecondDigits = 0;
      return o;
    }
    if (this.#fieldLength === 0) o += NULL_FIELD.copy(out, o);
    return o;
  }

  #fail(problem: string): never {
    throw new Error(`load format, row ${this.#rows + 1}: ${problem}`);
  }
}
