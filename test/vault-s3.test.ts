/*
 * The vault over an S3 bucket end to end: the whole SiteClient contract (upload, download,
 * erasure, relocation's copy, verification and purge, the residency scan) once more with the
 * site's blobs in s3rver, relocation between a filesystem site and an S3 site both ways, and
 * proof that the object store's path (streams, no `localFiles`) checks what the file path
 * checks: a copy that does not hash to its name is never published, and tampered or
 * truncated bytes in the bucket fail verification, authentication and the download.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openS3BlobStore, type S3BlobStore } from '../src/adapters/storage/s3/s3-blob-store.js';
import type { Actor } from '../src/ports/audit-sink.js';
import type { RelocatableSample } from '../src/ports/installation-records.js';
import type { BlobStore } from '../src/ports/storage.js';
import { type S3Engine, startS3Engine } from './support/engines/s3.js';
import { sha256 } from './support/files.js';
import { siteClientContract } from './support/site-client-contract.js';
import { openTestSite, type TestSite } from './support/site-node.js';

const now = () => new Date('2026-03-02T12:00:00Z');
const ACTOR: Actor = { role: 'admin', token: 'vault-s3-test' };
const PREFIX = 'zurich/blobs';

let engine: Promise<S3Engine> | undefined;
const s3 = () => {
  engine ??= startS3Engine();
  return engine;
};
afterAll(async () => (await engine)?.stop());

interface S3Site extends TestSite {
  readonly bucket: string;
  readonly blobs: S3BlobStore;
}

async function openS3Site(options: { storeNow?: () => Date } = {}): Promise<S3Site> {
  const endpoint = await s3();
  const bucket = await endpoint.createBucket();
  const blobs = await openS3BlobStore(endpoint.url(bucket, PREFIX), {
    client: endpoint.clientConfig,
    ...(options.storeNow === undefined ? {} : { now: options.storeNow }),
  });
  const opened = await openTestSite({ now, blobs });
  return {
    ...opened,
    bucket,
    blobs,
    async close() {
      await opened.close();
      blobs.destroy();
    },
  };
}

siteClientContract('SiteNode with its blobs in S3', async () => {
  const opened = await openS3Site();
  return {
    client: opened.site,
    recordFuzzyHashes: (sha256, hashes) => opened.site.vault.recordFuzzyHashes(sha256, hashes),
    close: () => opened.close(),
  };
});

async function admittedAt(site: TestSite): Promise<string> {
  const installationId = randomUUID();
  await site.site.admitInstallation(installationId, ACTOR);
  return installationId;
}

async function storeAt(site: TestSite, installationId: string, bytes: Buffer) {
  return site.site.storeSample({
    installationId,
    filename: 'sample.bin',
    product: 'endpoint-12',
    body: Readable.from([bytes]),
  });
}

describe('the vault over S3', () => {
  let site: S3Site;
  let files: TestSite;

  beforeAll(async () => {
    site = await openS3Site();
    files = await openTestSite({ now, name: 'moscow' });
  });
  afterAll(async () => {
    await site?.close();
    await files?.close();
  });

  const objectKey = (hash: string) => `${PREFIX}/blobs/${hash}`;
  const bucketKeys = async () => (await s3()).keys(site.bucket);
  const readObject = async (hash: string) => {
    const object = await (await s3()).admin.send(
      new GetObjectCommand({ Bucket: site.bucket, Key: objectKey(hash) }),
    );
    return Buffer.from(await object.Body!.transformToByteArray());
  };
  const writeObject = async (hash: string, bytes: Buffer) =>
    (await s3()).admin.send(new PutObjectCommand({ Bucket: site.bucket, Key: objectKey(hash), Body: bytes }));

  it('has no local files: the vault takes the streams', () => {
    const port: BlobStore = site.blobs;
    expect(port.localFiles).toBeUndefined();
  });

  it('stores the sample sealed: the bucket never holds its plaintext', async () => {
    const bytes = randomBytes(50_000);
    const stored = await storeAt(site, await admittedAt(site), bytes);
    const object = await readObject(stored.sha256);
    expect(object.includes(bytes.subarray(0, 64))).toBe(false);
    expect(await bucketKeys()).toContain(objectKey(stored.sha256));
    expect((await bucketKeys()).filter((key) => key.includes('/tmp/'))).toEqual([]);
  });

  describe('when a sample moves between a filesystem site and an S3 site', () => {
    it.each([
      ['files → S3', () => files, () => site],
      ['S3 → files', () => site, () => files],
    ])('%s: copies, verifies and authenticates it', async (_label, source, target) => {
      const from = source();
      const to = target();
      const installationId = await admittedAt(from);
      const bytes = randomBytes(3 << 20);
      await storeAt(from, installationId, bytes);
      const records = await from.site.exportInstallation(installationId);
      for (const sample of records.samples) {
        const plaintext = await from.site.openSamplePlaintext(sample.sha256);
        expect(await to.site.importSample(sample, plaintext)).toEqual({ copied: true });
        expect(await to.site.verifySample(sample.sha256)).toBe(true);
        expect(await to.site.authenticateSample(sample.sha256)).toBe(true);
      }
      await to.site.admitInstallation(installationId, ACTOR);
      await to.site.importInstallation(records, { submissions: true, events: false });
      expect(await buffer(await to.site.openSampleForDownload(sha256(bytes), ACTOR))).toEqual(bytes);
    });
  });

  describe('when a copy does not hash to its name', () => {
    it('is refused and leaves nothing in the bucket', async () => {
      const before = await bucketKeys();
      const claimed = sha256(Buffer.from('what the source claims'));
      const record: RelocatableSample = {
        sha256: claimed,
        sha1: '',
        md5: '',
        sha512: '',
        size: 3 << 20,
        firstSeen: '2026-03-01T00:00:00.000Z',
        lastSeen: '2026-03-01T00:00:00.000Z',
      };
      await expect(site.site.importSample(record, Readable.from([randomBytes(3 << 20)]))).rejects.toThrow(
        /arrived as/,
      );
      expect(await site.blobs.has(claimed)).toBe(false);
      expect(await bucketKeys()).toEqual(before);
    });
  });

  describe('when the bytes in the bucket were tampered with', () => {
    it('fails verification, authentication, the download and the residency scan', async () => {
      const bytes = randomBytes(200_000);
      const stored = await storeAt(site, await admittedAt(site), bytes);
      const sealed = await readObject(stored.sha256);
      const tampered = Buffer.from(sealed);
      tampered[tampered.length >> 1]! ^= 1;
      await writeObject(stored.sha256, tampered);
      expect(await site.site.verifySample(stored.sha256)).toBe(false);
      expect(await site.site.authenticateSample(stored.sha256)).toBe(false);
      await expect(buffer(await site.site.openSampleForDownload(stored.sha256, ACTOR))).rejects.toThrow();
      expect((await site.site.scanResidency()).samples.corrupt).toContain(stored.sha256);

      // Cut short: the last segment no longer authenticates, or the final-segment flag is missing.
      await writeObject(stored.sha256, sealed.subarray(0, sealed.length - 100));
      expect(await site.site.authenticateSample(stored.sha256)).toBe(false);
      expect(await site.site.verifySample(stored.sha256)).toBe(false);

      await writeObject(stored.sha256, sealed);
      expect(await site.site.verifySample(stored.sha256)).toBe(true);
    });
  });

  describe('when the site restarts after a crash', () => {
    it('removes old temporary uploads and blobs no row names', async () => {
      // The store's clock stands two hours on: what the crash left is old enough to go.
      const crashed = await openS3Site({ storeNow: () => new Date(Date.now() + 2 * 60 * 60 * 1000) });
      const orphan = randomBytes(1000);
      const published = await crashed.blobs.createWriter();
      await pipeline(Readable.from([orphan]), published.stream);
      await published.commit(sha256(orphan));
      const unfinished = await crashed.blobs.createWriter();
      await pipeline(Readable.from([randomBytes(1000)]), unfinished.stream);
      const kept = await storeAt(crashed, await admittedAt(crashed), randomBytes(1000));
      const endpoint = await s3();
      expect(await endpoint.keys(crashed.bucket)).toHaveLength(3);

      expect(await crashed.site.vault.recover()).toEqual({ leftovers: 1, orphans: 1 });
      expect(await endpoint.keys(crashed.bucket)).toEqual([objectKey(kept.sha256)]);
      await crashed.close();
    });
  });
});
