import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { type FileEntry, Uint8ArrayReader, Uint8ArrayWriter, ZipReader } from '@zip.js/zip.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_ZIP_PASSWORD, SampleZipError, zipSample } from './sample-zip.js';

const run = promisify(execFile);
const SHA256_NAME = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;

function streamOf(bytes: Uint8Array): Readable {
  return Readable.from(chunksOf(bytes), { objectMode: false });
}

function* chunksOf(bytes: Uint8Array): Generator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += CHUNK) {
    yield bytes.subarray(offset, offset + CHUNK);
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function collect(zip: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of zip) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

interface ZipOptions {
  readonly size?: number;
  readonly compress?: boolean;
}

const CONTENTS = [
  { label: 'empty', content: new Uint8Array(0) },
  { label: 'small', content: new TextEncoder().encode('MZ\x90\x00 this program cannot be run in DOS mode') },
  { label: '~3 MiB random', content: new Uint8Array(randomBytes(3 * MiB + 12_345)) },
];

/** Unknown size (Zip64 local header), known size, and deflate: the three layouts zip.js writes. */
function optionsFor(content: Uint8Array): readonly ZipOptions[] {
  return [{}, { size: content.length }, { size: content.length, compress: true }];
}

async function zipBytes(content: Uint8Array, options: ZipOptions = {}): Promise<Uint8Array> {
  return collect(zipSample(streamOf(content), { entryName: SHA256_NAME, ...options }));
}

async function onlyEntry(zip: Uint8Array): Promise<FileEntry> {
  const entries = await new ZipReader(new Uint8ArrayReader(zip), { useWebWorkers: false }).getEntries();
  expect(entries).toHaveLength(1);
  const [entry] = entries;
  if (entry === undefined || entry.directory) {
    throw new Error('expected one file entry');
  }
  return entry;
}

async function unzip(zip: Uint8Array, password?: string): Promise<Uint8Array> {
  const entry = await onlyEntry(zip);
  return entry.getData(new Uint8ArrayWriter(), { useWebWorkers: false, ...(password ? { password } : {}) });
}

/** Plaintext that fails after `good` bytes, the way an AEAD chunk that does not authenticate would. */
function failingAfter(good: Uint8Array, error: Error): Readable {
  return Readable.from(
    (function* () {
      yield* chunksOf(good);
      throw error;
    })(),
    { objectMode: false },
  );
}

describe('zipSample', () => {
  describe.each(CONTENTS)('when the sample is $label', ({ content }) => {
    it.each(optionsFor(content))('round-trips through zip.js with the password (%j)', async (options) => {
      const zip = await zipBytes(content, options);

      expect(sha256(await unzip(zip, SAMPLE_ZIP_PASSWORD))).toBe(sha256(content));
    });

    it('holds one encrypted entry named as asked', async () => {
      const entry = await onlyEntry(await zipBytes(content));

      expect(entry.filename).toBe(SHA256_NAME);
      expect(entry.encrypted).toBe(true);
    });

    it('cannot be read without the password', async () => {
      const zip = await zipBytes(content);

      await expect(unzip(zip)).rejects.toThrow();
    });

    it('cannot be read with a wrong password', async () => {
      const zip = await zipBytes(content);

      await expect(unzip(zip, 'infected!')).rejects.toThrow();
    });
  });

  describe('when 7-Zip opens the archive', () => {
    let dir = '';

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sample-zip-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    async function archiveOf(content: Uint8Array, options: ZipOptions): Promise<string> {
      const archive = join(await mkdtemp(join(dir, 'case-')), 'sample.zip');
      await writeFile(archive, await zipBytes(content, options));
      return archive;
    }

    describe.each(CONTENTS)('with a $label sample', ({ content }) => {
      it.each(optionsFor(content))('extracts identical bytes with -pinfected (%j)', async (options) => {
        const archive = await archiveOf(content, options);
        const out = join(dirname(archive), 'out');

        await run('7z', ['x', `-p${SAMPLE_ZIP_PASSWORD}`, `-o${out}`, '-y', archive]);

        expect(sha256(await readFile(join(out, SHA256_NAME)))).toBe(sha256(content));
      });

      it('lists the entry as AES-256', async () => {
        const { stdout } = await run('7z', ['l', '-slt', await archiveOf(content, { size: content.length })]);

        expect(stdout).toContain(`Path = ${SHA256_NAME}`);
        expect(stdout).toMatch(/^Method = AES-256\b/m);
        expect(stdout).toMatch(/^Encrypted = \+$/m);
      });

      it('refuses a wrong password', async () => {
        const archive = await archiveOf(content, {});

        await expect(
          run('7z', ['x', '-pinfected!', `-o${join(dirname(archive), 'out')}`, '-y', archive]),
        ).rejects.toThrow(/Wrong password/);
      });
    });
  });

  describe('when the plaintext contains a distinctive marker', () => {
    it('does not appear in the archive bytes', async () => {
      const marker = Buffer.from('GLASSHOUSE-PLAINTEXT-MARKER-'.padEnd(64, '0123456789abcdef'));
      const content = Buffer.concat([randomBytes(100_000), marker, randomBytes(100_000), marker]);

      for (const compress of [false, true]) {
        const zip = Buffer.from(await zipBytes(content, { compress }));

        expect(zip.includes(marker)).toBe(false);
      }
    });
  });

  describe('when the plaintext stream errors', () => {
    it('errors the archive stream with the same error', async () => {
      const failure = new Error('chunk 3 failed authentication');

      const zip = zipSample(failingAfter(randomBytes(3 * CHUNK), failure), { entryName: SHA256_NAME });

      await expect(collect(zip)).rejects.toBe(failure);
    });

    it('errors even when the failure comes before any byte', async () => {
      const failure = new Error('key unwrap failed');

      const zip = zipSample(failingAfter(new Uint8Array(0), failure), { entryName: SHA256_NAME });

      await expect(collect(zip)).rejects.toBe(failure);
    });
  });

  describe('when the plaintext does not match the given size', () => {
    it.each([
      { label: 'short', declared: 4 * CHUNK + 1 },
      { label: 'long', declared: 4 * CHUNK - 1 },
    ])('errors the archive stream when the plaintext runs $label', async ({ declared }) => {
      const zip = zipSample(streamOf(randomBytes(4 * CHUNK)), { entryName: SHA256_NAME, size: declared });

      await expect(collect(zip)).rejects.toMatchObject({ code: 'SAMPLE_SIZE_MISMATCH' });
    });
  });

  describe('when the consumer stops reading', () => {
    it('pulls only a bounded amount of plaintext', async () => {
      let pulled = 0;
      const endless = Readable.from(
        (function* () {
          for (;;) {
            pulled += CHUNK;
            yield randomBytes(CHUNK);
          }
        })(),
        { objectMode: false },
      );

      const zip = zipSample(endless, { entryName: SHA256_NAME });
      // A 'readable' listener makes Node fill the output buffer to its high-water mark and no further.
      zip.once('readable', () => {});
      await new Promise((resolve) => setTimeout(resolve, 500));

      expect(pulled).toBeGreaterThan(0);
      expect(pulled).toBeLessThan(4 * MiB);
      zip.destroy();
    });
  });

  describe('when the consumer destroys the archive stream', () => {
    it('destroys the plaintext stream', async () => {
      const plaintext = streamOf(randomBytes(8 * MiB));
      const zip = zipSample(plaintext, { entryName: SHA256_NAME });
      await new Promise((resolve) => zip.once('data', resolve));

      zip.destroy();
      await new Promise((resolve) => zip.once('close', resolve));

      expect(plaintext.destroyed).toBe(true);
    });
  });

  describe('when the entry name holds a path', () => {
    it.each(['../evil.exe', 'dir/sample', 'C:\\sample', '..', ''])('rejects %j', (entryName) => {
      const plaintext = streamOf(new Uint8Array(1));

      expect(() => zipSample(plaintext, { entryName })).toThrow(SampleZipError);
    });
  });

  describe('when lastModified is given', () => {
    it('stamps the entry with it', async () => {
      const lastModified = new Date('2024-05-06T07:08:10Z');
      const zip = await collect(
        zipSample(streamOf(new Uint8Array(3)), { entryName: SHA256_NAME, lastModified }),
      );

      expect((await onlyEntry(zip)).lastModDate.getTime()).toBe(lastModified.getTime());
    });
  });

  it('uses the password public malware repositories use', () => {
    expect(SAMPLE_ZIP_PASSWORD).toBe('infected');
  });
});
