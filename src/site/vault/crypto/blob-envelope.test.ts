import { randomBytes } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  blobOpeningKey,
  ENVELOPE_HEADER_SIZE,
  headerWrapOf,
  openStream,
  rewrapDataKey,
  sealStream,
} from './blob-envelope.js';
import { CryptoError, type CryptoErrorCode } from './crypto-errors.js';

const MAGIC_AND_VERSION = 5;

async function run(transform: Transform, input: Buffer, chunkSize = 10_000): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < input.length; offset += chunkSize) {
    pieces.push(input.subarray(offset, offset + chunkSize));
  }
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), transform, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}

async function seal(masterKey: Buffer, plaintext: Buffer): Promise<Buffer> {
  const { header, encrypt } = sealStream(masterKey);
  return Buffer.concat([header, await run(encrypt, plaintext)]);
}

async function expectRejection(promise: Promise<unknown>, code: CryptoErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CryptoError);
  expect((error as CryptoError).code).toBe(code);
}

describe('blob envelope', () => {
  const masterKey = randomBytes(32);

  describe('when a blob is sealed and opened with the same master key', () => {
    it.each([0, 1, 65535, 65536, 65537, 3 * 65536, (Math.random() * 200_000) | 0])(
      'round-trips %i bytes',
      async (size) => {
        const plaintext = randomBytes(size);
        const blob = await seal(masterKey, plaintext);
        expect((await run(openStream(masterKey), blob)).equals(plaintext)).toBe(true);
        expect((await run(openStream(masterKey), blob, 1)).equals(plaintext)).toBe(true);
      },
    );

    it('writes a GHB1 version-1 header of the fixed size', () => {
      const { header } = sealStream(masterKey);
      expect(ENVELOPE_HEADER_SIZE).toBe(73);
      expect(header.length).toBe(ENVELOPE_HEADER_SIZE);
      expect(header.subarray(0, 4).toString('ascii')).toBe('GHB1');
      expect(header[4]).toBe(1);
    });

    it('uses a fresh DEK and nonce prefix for every blob', () => {
      const a = sealStream(masterKey).header;
      const b = sealStream(masterKey).header;
      expect(a.subarray(MAGIC_AND_VERSION).equals(b.subarray(MAGIC_AND_VERSION))).toBe(false);
    });
  });

  describe('when the master key is wrong', () => {
    it('fails with DECRYPT_FAILED', async () => {
      const blob = await seal(masterKey, randomBytes(1000));
      await expectRejection(run(openStream(randomBytes(32)), blob), 'DECRYPT_FAILED');
    });
  });

  describe('when headers are swapped between two blobs', () => {
    it('fails with DECRYPT_FAILED', async () => {
      const a = await seal(masterKey, randomBytes(1000));
      const b = await seal(masterKey, randomBytes(1000));
      const swapped = Buffer.concat([b.subarray(0, ENVELOPE_HEADER_SIZE), a.subarray(ENVELOPE_HEADER_SIZE)]);
      await expectRejection(run(openStream(masterKey), swapped), 'DECRYPT_FAILED');
    });
  });

  describe('when the header is not ours', () => {
    it('fails with BAD_HEADER on wrong magic, unknown version or a short file', async () => {
      const blob = await seal(masterKey, randomBytes(10));
      const wrongMagic = Buffer.concat([Buffer.from('GHB2'), blob.subarray(4)]);
      const wrongVersion = Buffer.from(blob);
      wrongVersion[4] = 2;
      for (const bad of [
        wrongMagic,
        wrongVersion,
        Buffer.alloc(0),
        blob.subarray(0, ENVELOPE_HEADER_SIZE - 1),
      ]) {
        await expectRejection(run(openStream(masterKey), bad), 'BAD_HEADER');
      }
    });
  });

  describe('when any part of a blob is tampered with', () => {
    const blobP = seal(masterKey, randomBytes(2 * 65536 + 123));
    const expectedCode = (offset: number): CryptoErrorCode =>
      offset < MAGIC_AND_VERSION ? 'BAD_HEADER' : 'DECRYPT_FAILED';

    it('rejects any flipped byte, header included', async () => {
      const blob = await blobP;
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.integer({ min: 0, max: ENVELOPE_HEADER_SIZE - 1 }),
            fc.integer({ min: 0, max: blob.length - 1 }),
          ),
          fc.integer({ min: 1, max: 255 }),
          async (offset, mask) => {
            const tampered = Buffer.from(blob);
            tampered[offset] = (tampered[offset] ?? 0) ^ mask;
            await expectRejection(run(openStream(masterKey), tampered), expectedCode(offset));
          },
        ),
        { numRuns: 120 },
      );
    });

    it('rejects truncation at any byte offset', async () => {
      const blob = await blobP;
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: blob.length - 1 }), async (length) => {
          const code = length < ENVELOPE_HEADER_SIZE ? 'BAD_HEADER' : 'DECRYPT_FAILED';
          await expectRejection(run(openStream(masterKey), blob.subarray(0, length)), code);
        }),
        { numRuns: 120 },
      );
    });

    it('rejects appended bytes', async () => {
      const blob = await blobP;
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (extra) => {
          await expectRejection(run(openStream(masterKey), Buffer.concat([blob, extra])), 'DECRYPT_FAILED');
        }),
        { numRuns: 40 },
      );
    });
  });

  describe('when the master key has the wrong size', () => {
    it('throws a RangeError', () => {
      expect(() => sealStream(randomBytes(16))).toThrow(RangeError);
      expect(() => openStream(randomBytes(31))).toThrow(RangeError);
    });
  });

  describe('when a key rotation re-wrapped the data key under a new master key', () => {
    it('opens the untouched blob with the new key and the rewrap, and no longer with the new key alone', async () => {
      const plaintext = randomBytes(70_000);
      const blob = await seal(masterKey, plaintext);
      const newKey = randomBytes(32);
      const headerWrap = headerWrapOf(blob);
      const rewrap = { headerWrap, wrapped: rewrapDataKey(masterKey, newKey, headerWrap) };
      expect((await run(openStream(blobOpeningKey(newKey, rewrap)), blob)).equals(plaintext)).toBe(true);
      await expectRejection(run(openStream(newKey), blob), 'DECRYPT_FAILED');
    });

    it('ignores a rewrap made for another file of the same name (the header wraps differ)', async () => {
      const stale = await seal(masterKey, randomBytes(100));
      const newKey = randomBytes(32);
      const rewrap = {
        headerWrap: headerWrapOf(stale),
        wrapped: rewrapDataKey(masterKey, newKey, headerWrapOf(stale)),
      };
      const plaintext = randomBytes(100);
      const current = await seal(newKey, plaintext);
      expect((await run(openStream(blobOpeningKey(newKey, rewrap)), current)).equals(plaintext)).toBe(true);
    });

    it('refuses to re-wrap under a key that does not open the wrap', () => {
      const { header } = sealStream(masterKey);
      expect(() => rewrapDataKey(randomBytes(32), randomBytes(32), headerWrapOf(header))).toThrow(
        CryptoError,
      );
    });
  });
});
