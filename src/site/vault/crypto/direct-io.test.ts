import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { alignedBuffer, DirectFileWriter, readWholeFile } from './direct-io.js';

const dir = mkdtempSync(join(tmpdir(), 'glasshouse-direct-io-'));
let files = 0;
const fresh = () => join(dir, `file-${files++}`);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `bytes` through a writer in pieces of the given sizes (cycled). */
function writeInPieces(path: string, stage: Buffer, bytes: Buffer, sizes: readonly number[]) {
  const writer = new DirectFileWriter(path, stage);
  for (let offset = 0, i = 0; offset < bytes.length; i += 1) {
    const size = sizes[i % sizes.length]!;
    writer.append(bytes.subarray(offset, offset + size));
    offset += size;
  }
  writer.finish();
  return writer;
}

function readInChunks(path: string, buffer: Buffer, options?: { direct?: boolean }) {
  const chunks: Buffer[] = [];
  readWholeFile(path, buffer, (chunk) => chunks.push(Buffer.from(chunk)), options);
  return chunks;
}

describe('direct file I/O', () => {
  describe('when a file is written from pieces of any size', () => {
    it('holds exactly the bytes appended, whatever the pieces and the length (tail padded, then cut)', () => {
      const stage = alignedBuffer(64 * 1024);
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 300_000 }),
          fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 4 }),
          (size, sizes) => {
            const bytes = randomBytes(size);
            const path = fresh();
            writeInPieces(path, stage, bytes, sizes);
            expect(readFileSync(path).equals(bytes)).toBe(true);
          },
        ),
        { numRuns: 40 },
      );
    });

    it('refuses a file that exists, leaving it as it was', () => {
      const path = fresh();
      writeFileSync(path, 'keep me');
      expect(() => new DirectFileWriter(path, alignedBuffer(65536))).toThrow(
        expect.objectContaining({ code: 'EEXIST' }),
      );
      expect(readFileSync(path, 'utf8')).toBe('keep me');
    });

    it.runIf(process.platform === 'linux')('writes around the page cache on Linux', () => {
      const bytes = randomBytes(100_000);
      const path = fresh();
      expect(writeInPieces(path, alignedBuffer(65536), bytes, [4096 * 3 + 7]).direct).toBe(true);
      expect(readFileSync(path).equals(bytes)).toBe(true);
    });

    it('falls back to buffered writes when O_DIRECT refuses a transfer (a misaligned buffer)', () => {
      // One byte off a page: no device accepts that address for a direct write.
      const misaligned = alignedBuffer(2 * 65536).subarray(1, 1 + 65536);
      const bytes = randomBytes(200_000);
      const path = fresh();
      const writer = writeInPieces(path, misaligned, bytes, [70_000]);
      expect(writer.direct).toBe(false);
      expect(readFileSync(path).equals(bytes)).toBe(true);
    });

    it('rejects staging buffers that are not a multiple of 4096 bytes', () => {
      expect(() => new DirectFileWriter(fresh(), Buffer.alloc(5000))).toThrow(RangeError);
      expect(() => alignedBuffer(4096)).toThrow(RangeError);
    });
  });

  describe('when a file is read whole', () => {
    it('hands over every byte in order, a buffer-full at a time, direct or through the page cache', () => {
      const buffer = alignedBuffer(65536);
      for (const size of [0, 1, 4095, 4096, 4097, 65536, 65537, 200_001]) {
        const bytes = randomBytes(size);
        const path = fresh();
        writeFileSync(path, bytes);
        for (const direct of [true, false]) {
          const chunks = readInChunks(path, buffer, { direct });
          expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
          expect(chunks.slice(0, -1).every((c) => c.length === buffer.length)).toBe(true);
        }
      }
    });

    it('falls back to a buffered read when O_DIRECT refuses the buffer', () => {
      const bytes = randomBytes(150_000);
      const path = fresh();
      writeFileSync(path, bytes);
      const misaligned = alignedBuffer(2 * 65536).subarray(1, 1 + 65536);
      expect(Buffer.concat(readInChunks(path, misaligned)).equals(bytes)).toBe(true);
    });

    it('fails with ENOENT for a file that does not exist', () => {
      expect(() => readWholeFile(join(dir, 'missing'), alignedBuffer(65536), () => undefined)).toThrow(
        expect.objectContaining({ code: 'ENOENT' }),
      );
    });
  });
});
