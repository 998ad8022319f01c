import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  CreateBucketCommand,
  paginateListObjectsV2,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { REPO_ROOT } from '../cli.js';

/** s3rver's fixed credentials: a local test endpoint, nothing secret. */
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** A running S3 endpoint for tests, with its own temporary directory. */
export interface S3Engine {
  readonly endpoint: string;
  /** The s3rver process (for a benchmark's CPU accounting). */
  readonly pid: number | undefined;
  /** Pass as the stores' `client` option: the endpoint's credentials (the server takes AWS_*). */
  readonly clientConfig: Partial<S3ClientConfig>;
  /** A client for the test itself, to look into buckets behind the stores' backs. */
  readonly admin: S3Client;
  /** Creates a new, empty bucket with a unique name. */
  createBucket(): Promise<string>;
  /** The `s3://` URL of a bucket and prefix on this endpoint. */
  url(bucket: string, prefix?: string): string;
  /** Every key in the bucket (under `prefix`), sorted. */
  keys(bucket: string, prefix?: string): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Starts s3rver (an npm devDependency, so always here: these suites never skip) as a child
 * process on 127.0.0.1 and a free port.
 *
 * @example
 * const s3 = await startS3Engine();
 * const blobs = await openS3BlobStore(s3.url(await s3.createBucket()), { client: s3.clientConfig });
 */
export async function startS3Engine(): Promise<S3Engine> {
  const directory = mkdtempSync(join(tmpdir(), 'glasshouse-s3rver-'));
  const child = spawn(
    process.execPath,
    // s3rver signs its ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its
    // legacy provider: without it, listing past the first page fails.
    ['--openssl-legacy-provider', '--import', 'tsx', 'test/support/engines/s3rver-child.ts', directory],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await portOf(child);
  const endpoint = `http://127.0.0.1:${port}`;
  const clientConfig: Partial<S3ClientConfig> = { credentials: S3RVER_CREDENTIALS };
  const admin = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  let buckets = 0;
  return {
    endpoint,
    pid: child.pid,
    clientConfig,
    admin,
    async createBucket() {
      buckets += 1;
      const name = `test-${buckets}-${randomBytes(4).toString('hex')}`;
      await admin.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    url: (bucket, prefix = '') => `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}`,
    async keys(bucket, prefix) {
      const keys: string[] = [];
      for await (const page of paginateListObjectsV2({ client: admin }, { Bucket: bucket, Prefix: prefix })) {
        for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
      }
      return keys.sort();
    },
    async stop() {
      admin.destroy();
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

async function portOf(child: ChildProcess): Promise<number> {
  if (child.stdout === null) throw new Error('s3rver: no stdout');
  const lines = createInterface({ input: child.stdout });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`s3rver exited (${code}) before listening`))),
  );
  const listening = (async () => {
    for await (const line of lines) return (JSON.parse(line) as { port: number }).port;
    throw new Error('s3rver closed its output before listening');
  })();
  return Promise.race([listening, exited]);
}
