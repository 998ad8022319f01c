import { randomBytes } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ENVELOPE_HEADER_SIZE, openStream, sealStream } from './blob-envelope.js';
import { SEALED_SEGMENT_SIZE, SEGMENT_SIZE } from './chunked-aead.js';
import { CryptoError } from './crypto-errors.js';
import { openBlob, sealBlob } from './parallel-aead.js';

function chunks(input: Buffer, size: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < input.length; offset += size)
    pieces.push(input.subarray(offset, offset + size));
  return pieces;
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of source) out.push(chunk);
  return Buffer.concat(out);
}

async function viaTransform(transform: Transform, input: Buffer, size: number): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks(input, size)), transform, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}

async function sealSync(masterKey: Buffer, plaintext: Buffer): Promise<Buffer> {
  const { header, encrypt } = sealStream(masterKey);
  return Buffer.concat([header, await viaTransform(encrypt, plaintext, 10_000)]);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

const sizes = [
  0,
  1,
  SEGMENT_SIZE - 1,
  SEGMENT_SIZE,
  SEGMENT_SIZE + 1,
  3 * SEGMENT_SIZE,
  40 * SEGMENT_SIZE + 7,
];

describe('parallel blob sealing and opening (WebCrypto, same format)', () => {
  const masterKey = randomBytes(32);

  it.each(sizes)('opens with the stream opener what it sealed, and the reverse (%i bytes)', async (size) => {
    const plaintext = randomBytes(size);
    const seen: Buffer[] = [];
    const sealed = await collect(
      sealBlob(masterKey, Readable.from(chunks(plaintext, 777)), (b) => seen.push(b)),
    );
    expect(Buffer.concat(seen).equals(plaintext)).toBe(true);
    expect((await viaTransform(openStream(masterKey), sealed, 5000)).equals(plaintext)).toBe(true);
    const sealedSync = await sealSync(masterKey, plaintext);
    expect(sealedSync.length).toBe(sealed.length);
    const opened = await collect(openBlob(masterKey, Readable.from(chunks(sealedSync, 1 << 20))));
    expect(opened.equals(plaintext)).toBe(true);
  });

  it('round-trips any plaintext cut into any chunks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5 * SEGMENT_SIZE }),
        fc.integer({ min: 1, max: 2 * SEALED_SEGMENT_SIZE }),
        async (size, chunkSize) => {
          const plaintext = randomBytes(size);
          const sealed = await collect(sealBlob(masterKey, Readable.from(chunks(plaintext, chunkSize))));
          const opened = await collect(openBlob(masterKey, Readable.from(chunks(sealed, chunkSize))));
          expect(opened.equals(plaintext)).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('rejects a flipped bit, a dropped final segment, a truncated tail and a wrong key', async () => {
    const plaintext = randomBytes(3 * SEGMENT_SIZE + 100);
    const sealed = await sealSync(masterKey, plaintext);
    const flipped = Buffer.from(sealed);
    flipped[ENVELOPE_HEADER_SIZE + SEALED_SEGMENT_SIZE + 5]! ^= 1;
    const withoutLast = sealed.subarray(0, ENVELOPE_HEADER_SIZE + 3 * SEALED_SEGMENT_SIZE);
    const truncated = sealed.subarray(0, sealed.length - 3);
    for (const [blob, key] of [
      [flipped, masterKey],
      [withoutLast, masterKey],
      [truncated, masterKey],
      [sealed, randomBytes(32)],
    ] as const) {
      const error = await rejection(collect(openBlob(key, Readable.from(chunks(blob, 4096)))));
      expect(error).toBeInstanceOf(CryptoError);
      expect((error as CryptoError).code).toBe('DECRYPT_FAILED');
    }
    const short = await rejection(collect(openBlob(masterKey, Readable.from([sealed.subarray(0, 10)]))));
    expect((short as CryptoError).code).toBe('BAD_HEADER');
  });

  it('yields no plaintext of a segment that fails authentication', async () => {
    const plaintext = randomBytes(2 * SEGMENT_SIZE);
    const sealed = await sealSync(masterKey, plaintext);
    sealed[ENVELOPE_HEADER_SIZE + 3]! ^= 1;
    const out: Buffer[] = [];
    const error = await rejection(
      (async () => {
        for await (const chunk of openBlob(masterKey, Readable.from([sealed]))) out.push(chunk);
      })(),
    );
    expect(error).toBeInstanceOf(CryptoError);
    expect(out).toEqual([]);
  });
});
