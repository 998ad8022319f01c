import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { rulesSha256 } from '../../../shared/yara-rules.js';
import { openStream, sealStream } from './blob-envelope.js';
import { BlobFilePool, takeSealedFile } from './blob-file-pool.js';
import { CryptoError } from './crypto-errors.js';

const dir = mkdtempSync(join(tmpdir(), 'glasshouse-blob-file-pool-'));
const pool = new BlobFilePool(2);
let files = 0;
const fresh = () => join(dir, `blob-${files++}`);

afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(transform: Transform, input: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from([input]), transform, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}

/** Seals `plaintext` on the pool in pieces of the given sizes; returns the path and the hash it reported. */
async function sealOnPool(masterKey: Buffer, plaintext: Buffer, sizes: readonly number[] = [1 << 20]) {
  const path = fresh();
  const sealing = await pool.seal(path, masterKey);
  for (let offset = 0, i = 0; offset < plaintext.length; i += 1) {
    const size = sizes[i % sizes.length]!;
    await sealing.write(plaintext.subarray(offset, offset + size));
    offset += size;
  }
  return { path, sha256: await sealing.finish() };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of stream) out.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(out);
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('blob files on worker threads', () => {
  const masterKey = randomBytes(32);

  describe('when a blob is sealed on the pool', () => {
    it('writes the envelope the stream opens, and reports the plaintext SHA-256, whatever the chunking', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 400_000 }),
          fc.array(fc.integer({ min: 1, max: 200_000 }), { minLength: 1, maxLength: 5 }),
          async (size, sizes) => {
            const plaintext = randomBytes(size);
            const { path, sha256: reported } = await sealOnPool(masterKey, plaintext, sizes);
            expect(reported).toBe(sha256(plaintext));
            expect((await run(openStream(masterKey), readFileSync(path))).equals(plaintext)).toBe(true);
            expect(await pool.authenticate(path, masterKey)).toBe(true);
          },
        ),
        { numRuns: 25 },
      );
    });

    it('never overwrites an existing file', async () => {
      const path = fresh();
      writeFileSync(path, 'taken');
      await expect(pool.seal(path, masterKey)).rejects.toMatchObject({ code: 'EEXIST' });
      expect(readFileSync(path, 'utf8')).toBe('taken');
    });
  });

  describe('when a blob is opened on the pool', () => {
    it('gives the plaintext of a blob the stream sealed, and re-seals it from the chunks it hands out', async () => {
      const plaintext = randomBytes(3 * (1 << 20) + 12_345);
      const { header, encrypt } = sealStream(masterKey);
      const path = fresh();
      writeFileSync(path, Buffer.concat([header, await run(encrypt, plaintext)]));
      expect((await readAll(pool.openPlaintext(path, masterKey))).equals(plaintext)).toBe(true);

      // The pool's own chunks travel on to another seal without a copy (transferred).
      const otherKey = randomBytes(32);
      const target = fresh();
      const sealing = await pool.seal(target, otherKey);
      for await (const chunk of pool.openPlaintext(path, masterKey)) await sealing.write(chunk as Buffer);
      expect(await sealing.finish()).toBe(sha256(plaintext));
      expect((await run(openStream(otherKey), readFileSync(target))).equals(plaintext)).toBe(true);
    });

    it('fails with DECRYPT_FAILED on a flipped byte or a wrong key, and authenticate says false', async () => {
      const plaintext = randomBytes(200_000);
      const { path } = await sealOnPool(masterKey, plaintext);
      const original = readFileSync(path);
      const flipped = Buffer.from(original);
      flipped[original.length - 50]! ^= 1;
      writeFileSync(path, flipped);
      const error = await readAll(pool.openPlaintext(path, masterKey)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CryptoError);
      expect((error as CryptoError).code).toBe('DECRYPT_FAILED');
      expect(await pool.authenticate(path, masterKey)).toBe(false);
      writeFileSync(path, original.subarray(0, original.length - 65_552));
      expect(await pool.authenticate(path, masterKey)).toBe(false);
      writeFileSync(path, original);
      expect(await pool.authenticate(path, randomBytes(32))).toBe(false);
      expect(await pool.authenticate(path, masterKey)).toBe(true);
    });

    it('fails on a missing file, and authenticate says false', async () => {
      const missing = join(dir, 'missing');
      await expect(readAll(pool.openPlaintext(missing, masterKey))).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await pool.authenticate(missing, masterKey)).toBe(false);
      expect(await pool.digest(missing, masterKey)).toBeUndefined();
    });

    it('digests the plaintext of an authentic blob, and of nothing else', async () => {
      for (const size of [0, 1, 65_536, 65_537, 1_100_000]) {
        const plaintext = randomBytes(size);
        const { path } = await sealOnPool(masterKey, plaintext);
        expect(await pool.digest(path, masterKey)).toBe(sha256(plaintext));
        expect(await pool.digest(path, randomBytes(32))).toBeUndefined();
        const bytes = readFileSync(path);
        bytes[bytes.length - 1]! ^= 1;
        writeFileSync(path, bytes);
        expect(await pool.digest(path, masterKey)).toBeUndefined();
      }
    });

    it('stops reading when its consumer stops, and the worker keeps serving others', async () => {
      const plaintext = randomBytes(4 << 20);
      const { path } = await sealOnPool(masterKey, plaintext);
      const stream = pool.openPlaintext(path, masterKey);
      for await (const _chunk of stream) break;
      expect(stream.destroyed).toBe(true);
      expect(await pool.authenticate(path, masterKey)).toBe(true);
    });
  });

  describe('when a blob is resealed file to file under another key', () => {
    it('writes a blob that opens under the new key to the same plaintext, and reports its SHA-256', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 2_500_000 }), async (size) => {
          const plaintext = randomBytes(size);
          const { path: from } = await sealOnPool(masterKey, plaintext);
          const before = readFileSync(from);
          const otherKey = randomBytes(32);
          const to = fresh();
          const reported = await pool.reseal({ path: from, masterKey }, { path: to, masterKey: otherKey });
          expect(reported).toBe(sha256(plaintext));
          expect((await run(openStream(otherKey), readFileSync(to))).equals(plaintext)).toBe(true);
          expect(await pool.authenticate(to, otherKey)).toBe(true);
          expect(await pool.authenticate(to, masterKey)).toBe(false);
          expect(readFileSync(from).equals(before)).toBe(true);
        }),
        { numRuns: 12 },
      );
    });

    it('fails with DECRYPT_FAILED on a tampered source, and never overwrites an existing target', async () => {
      const { path: from } = await sealOnPool(masterKey, randomBytes(300_000));
      const taken = fresh();
      writeFileSync(taken, 'taken');
      await expect(
        pool.reseal({ path: from, masterKey }, { path: taken, masterKey: randomBytes(32) }),
      ).rejects.toMatchObject({ code: 'EEXIST' });
      expect(readFileSync(taken, 'utf8')).toBe('taken');

      const bytes = readFileSync(from);
      bytes[bytes.length - 100]! ^= 1;
      writeFileSync(from, bytes);
      const error = await pool
        .reseal({ path: from, masterKey }, { path: fresh(), masterKey: randomBytes(32) })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CryptoError);
      expect((error as CryptoError).code).toBe('DECRYPT_FAILED');
    });

    it('takes the file behind a plaintext stream of the pool only while nobody has read it', async () => {
      const plaintext = randomBytes(100_000);
      const { path } = await sealOnPool(masterKey, plaintext);
      const unread = pool.openPlaintext(path, masterKey);
      const taken = takeSealedFile(unread);
      expect(taken?.path).toBe(path);
      expect(taken?.masterKey.equals(masterKey)).toBe(true);
      expect(unread.destroyed).toBe(true);
      expect(takeSealedFile(unread)).toBeUndefined();

      const reading = pool.openPlaintext(path, masterKey);
      const first = await new Promise<Buffer>((resolve) => reading.once('data', resolve));
      expect(first.length).toBeGreaterThan(0);
      expect(takeSealedFile(reading)).toBeUndefined();
      reading.destroy();
      expect(takeSealedFile(Readable.from([plaintext]))).toBeUndefined();
    });
  });

  describe('when blobs are scanned with YARA rules', () => {
    const source = 'rule marker { strings: $a = "SCAN-MARKER-42" condition: $a }';
    const rules = { source, sha256: rulesSha256(source) };

    it('matches each plaintext on one scan lane, larger and smaller ones one after another, and skips what is not authentic', async () => {
      const oneLane = new BlobFilePool(2, 1);
      try {
        expect(oneLane.scanLanes).toBe(1);
        // Sizes that shrink, then grow past the first: the worker's kept buffer is reused and regrown.
        const plaintexts = [3 << 20, 100_000, 5 << 20, 0].map((size, i) =>
          i % 2 === 0 ? Buffer.concat([randomBytes(size), Buffer.from('SCAN-MARKER-42')]) : randomBytes(size),
        );
        const sealed = await Promise.all(plaintexts.map((p) => sealOnPool(masterKey, p)));
        const results = await Promise.all(sealed.map(({ path }) => oneLane.scan({ path, masterKey }, rules)));
        expect(results).toEqual(
          plaintexts.map((p, i) => ({ matches: i % 2 === 0 ? ['marker'] : [], size: p.length })),
        );
        expect(
          await oneLane.scan({ path: sealed[0]!.path, masterKey: randomBytes(32) }, rules),
        ).toBeUndefined();
        expect(await oneLane.scan({ path: join(dir, 'missing'), masterKey }, rules)).toBeUndefined();
      } finally {
        await oneLane.close();
      }
    });
  });

  describe('when a seal is aborted', () => {
    it('closes the file, which the caller may then remove', async () => {
      const path = fresh();
      const sealing = await pool.seal(path, masterKey);
      await sealing.write(randomBytes(100_000));
      sealing.abort();
      rmSync(path);
      expect(existsSync(path)).toBe(false);
      expect(await pool.authenticate(path, masterKey)).toBe(false);
    });
  });
});
