import { createHash, randomBytes } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createDecryptStream,
  createEncryptStream,
  SEALED_SEGMENT_SIZE,
  SEGMENT_SIZE,
  type SegmentStreamOptions,
  segmentNonce,
} from './chunked-aead.js';
import { CryptoError, type CryptoErrorCode } from './crypto-errors.js';

const TAG = 16;

function options(): SegmentStreamOptions {
  return { key: randomBytes(32), noncePrefix: randomBytes(8), header: randomBytes(73) };
}

/** Deterministic bytes so fast-check can shrink and replay failures. */
function pseudoRandomBytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let state = seed | 1;
  for (let i = 0; i < size; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

/** Cuts `data` into pieces whose sizes cycle through `sizes`. */
function split(data: Buffer, sizes: readonly number[] = [data.length || 1]): Buffer[] {
  const pieces: Buffer[] = [];
  for (let offset = 0, i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    pieces.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return pieces;
}

async function run(transform: Transform, input: Buffer, sizes?: readonly number[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(split(input, sizes)), transform, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}

async function expectRejection(promise: Promise<unknown>, code: CryptoErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CryptoError);
  expect((error as CryptoError).code).toBe(code);
}

function segmentCount(size: number): number {
  return Math.max(1, Math.ceil(size / SEGMENT_SIZE));
}

describe('chunked AEAD', () => {
  describe('when a plaintext is encrypted and decrypted', () => {
    const sizes = [
      0,
      1,
      65535,
      65536,
      65537,
      3 * 65536,
      ...Array.from({ length: 4 }, () => (Math.random() * 300_000) | 0),
    ];

    it.each(sizes)('round-trips %i bytes with one tag per segment', async (size) => {
      const opts = options();
      const plaintext = randomBytes(size);
      const sealed = await run(createEncryptStream(opts), plaintext);
      expect(sealed.length).toBe(size + TAG * segmentCount(size));
      expect((await run(createDecryptStream(opts), sealed)).equals(plaintext)).toBe(true);
    });
  });

  describe('when input arrives in arbitrary chunks', () => {
    it('round-trips whatever the chunking on either side', async () => {
      const opts = options();
      const chunking = fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 8 });
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 300 * 1024 }),
          fc.integer(),
          chunking,
          chunking,
          async (size, seed, inSizes, outSizes) => {
            const plaintext = pseudoRandomBytes(size, seed);
            const sealed = await run(createEncryptStream(opts), plaintext, inSizes);
            const opened = await run(createDecryptStream(opts), sealed, outSizes);
            expect(opened.equals(plaintext)).toBe(true);
          },
        ),
        { numRuns: 40 },
      );
    });
  });

  describe('when the sealed stream is tampered with', () => {
    const opts = options();
    const plaintexts = [Buffer.alloc(0), randomBytes(100), randomBytes(2 * SEGMENT_SIZE + 500)];
    const sealedP = Promise.all(plaintexts.map((p) => run(createEncryptStream(opts), p)));

    it('rejects any single flipped bit or byte', async () => {
      const sealed = await sealedP;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: sealed.length - 1 }),
          fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
          fc.integer({ min: 1, max: 255 }),
          async (which, position, mask) => {
            const blob = Buffer.from(sealed[which] ?? Buffer.alloc(0));
            const offset = Math.floor(position * blob.length);
            blob[offset] = (blob[offset] ?? 0) ^ mask;
            await expectRejection(run(createDecryptStream(opts), blob), 'DECRYPT_FAILED');
          },
        ),
        { numRuns: 150 },
      );
    });

    it('rejects truncation at any byte offset', async () => {
      const sealed = await sealedP;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: sealed.length - 1 }),
          fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
          async (which, position) => {
            const blob = sealed[which] ?? Buffer.alloc(0);
            const cut = blob.subarray(0, Math.floor(position * blob.length));
            await expectRejection(run(createDecryptStream(opts), cut), 'DECRYPT_FAILED');
          },
        ),
        { numRuns: 150 },
      );
    });

    it('rejects any appended bytes', async () => {
      const sealed = await sealedP;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: sealed.length - 1 }),
          fc.uint8Array({ minLength: 1, maxLength: SEALED_SEGMENT_SIZE + 1 }),
          async (which, extra) => {
            const blob = Buffer.concat([sealed[which] ?? Buffer.alloc(0), extra]);
            await expectRejection(run(createDecryptStream(opts), blob), 'DECRYPT_FAILED');
          },
        ),
        { numRuns: 60 },
      );
    });

    it('rejects a stream whose final segment was dropped at a segment boundary', async () => {
      const blob = (await sealedP)[2] ?? Buffer.alloc(0);
      await expectRejection(
        run(createDecryptStream(opts), blob.subarray(0, 2 * SEALED_SEGMENT_SIZE)),
        'DECRYPT_FAILED',
      );
    });

    it('rejects reordered, dropped and duplicated segments', async () => {
      const blob = (await sealedP)[2] ?? Buffer.alloc(0);
      const [s0, s1, s2] = split(blob, [SEALED_SEGMENT_SIZE]) as [Buffer, Buffer, Buffer];
      for (const segments of [
        [s1, s0, s2],
        [s0, s2],
        [s1, s2],
        [s0, s0, s1, s2],
      ]) {
        await expectRejection(run(createDecryptStream(opts), Buffer.concat(segments)), 'DECRYPT_FAILED');
      }
    });

    it('releases only segments that authenticated before the tampered one', async () => {
      const plaintext = plaintexts[2] ?? Buffer.alloc(0);
      const blob = Buffer.from((await sealedP)[2] ?? Buffer.alloc(0));
      blob[SEALED_SEGMENT_SIZE + 10] = (blob[SEALED_SEGMENT_SIZE + 10] ?? 0) ^ 1;
      const released: Buffer[] = [];
      const decrypt = createDecryptStream(opts);
      decrypt.on('data', (chunk: Buffer) => released.push(chunk));
      await expectRejection(pipeline(Readable.from(split(blob, [1000])), decrypt), 'DECRYPT_FAILED');
      expect(Buffer.concat(released).equals(plaintext.subarray(0, SEGMENT_SIZE))).toBe(true);
    });
  });

  describe('when the key, nonce prefix or header differ', () => {
    it('fails to decrypt', async () => {
      const opts = options();
      const sealed = await run(createEncryptStream(opts), randomBytes(70_000));
      for (const wrong of [
        { ...opts, key: randomBytes(32) },
        { ...opts, noncePrefix: randomBytes(8) },
        { ...opts, header: Buffer.concat([opts.header, Buffer.of(0)]) },
      ]) {
        await expectRejection(run(createDecryptStream(wrong), sealed), 'DECRYPT_FAILED');
      }
    });
  });

  describe('when given keys or prefixes of the wrong size', () => {
    it('throws a RangeError', () => {
      expect(() => createEncryptStream({ ...options(), key: randomBytes(16) })).toThrow(RangeError);
      expect(() => createDecryptStream({ ...options(), noncePrefix: randomBytes(12) })).toThrow(RangeError);
    });
  });

  describe('when the segment counter reaches 2^32', () => {
    it('refuses to build a nonce that would repeat', () => {
      const prefix = randomBytes(8);
      expect(segmentNonce(prefix, 0xffff_ffff).subarray(8).toString('hex')).toBe('ffffffff');
      expect(() => segmentNonce(prefix, 2 ** 32)).toThrow(RangeError);
    });
  });

  describe('when encrypting 64 MiB in 1 MiB chunks', () => {
    it('streams it through and back in a couple of seconds', { timeout: 10_000 }, async () => {
      const opts = options();
      const chunk = randomBytes(1024 * 1024);
      const chunks = Array.from({ length: 64 }, () => chunk);
      const started = performance.now();
      const encrypt = createEncryptStream(opts);
      let sealedLength = 0;
      const sealed: Buffer[] = [];
      await pipeline(Readable.from(chunks), encrypt, async (source: AsyncIterable<Buffer>) => {
        for await (const piece of source) {
          sealedLength += piece.length;
          sealed.push(piece);
        }
      });
      const encryptMs = performance.now() - started;
      expect(sealedLength).toBe(64 * SEALED_SEGMENT_SIZE * 16);
      const opened = createHash('sha256');
      await pipeline(
        Readable.from(sealed),
        createDecryptStream(opts),
        async (source: AsyncIterable<Buffer>) => {
          for await (const piece of source) opened.update(piece);
        },
      );
      const expected = createHash('sha256');
      for (const c of chunks) expected.update(c);
      expect(opened.digest('hex')).toBe(expected.digest('hex'));
      expect(encryptMs).toBeLessThan(5_000);
    });
  });
});
