import { HeadBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { StorageError } from '../../../shared/storage-errors.js';
import { describeS3Location, parseS3Location, type S3Location } from './s3-location.js';

/** What both S3 stores take besides their location. */
export interface S3StoreOptions {
  /**
   * Merged over the client configuration the location gives. For tests and embedding (a
   * local endpoint's credentials, say); the server passes none, so credentials come from
   * the environment the SDK reads.
   */
  readonly client?: Partial<S3ClientConfig>;
}

/** An opened bucket: the client, where the store's keys live, and how to report failures. */
export interface S3Bucket {
  readonly client: S3Client;
  readonly location: S3Location;
  /** A `STORAGE_UNAVAILABLE` naming the engine, the location, the operation and the engine's answer. */
  failure(operation: string, cause: unknown): StorageError;
  /** Runs one engine call, its failure reported as {@link failure}. */
  attempt<T>(operation: string, run: (client: S3Client) => Promise<T>): Promise<T>;
}

const PROBE_ANSWERS: Readonly<Record<number, string>> = {
  301: 'the bucket is in another region (HeadBucket answered 301): set region= in the URL',
  403: 'access denied (HeadBucket answered 403): check the AWS_* credentials and the s3:ListBucket permission',
  404: 'no such bucket',
};

/**
 * A download holds its connection for as long as its client takes to read (the body streams
 * through), so the SDK's default of 50 would let 50 slow clients stall every other request.
 */
const MAX_SOCKETS = 256;

/** A connection that cannot be made within this is a dead endpoint, not a slow one. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Creates the client and probes the bucket (`HeadBucket`), so that an unreachable endpoint,
 * a missing bucket or refused credentials stop the start with a clear `STORAGE_UNAVAILABLE`
 * instead of failing the first upload.
 */
export async function openS3Bucket(
  where: string | S3Location,
  options: S3StoreOptions = {},
): Promise<S3Bucket> {
  const location = typeof where === 'string' ? parseS3Location(where) : where;
  // The SDK warns on Node 20 that its releases after January 2027 will need Node 22. That is
  // for whoever upgrades the SDK in package-lock.json (and Glasshouse's engines with it), not
  // for an operator, and would break every command's one-line error output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new S3Client({ ...s3ClientConfig(location), ...options.client });
  const failure = (operation: string, cause: unknown) => engineFailure(location, operation, cause);
  const bucket: S3Bucket = {
    client,
    location,
    failure,
    async attempt(operation, run) {
      try {
        return await run(client);
      } catch (cause) {
        throw failure(operation, cause);
      }
    },
  };
  try {
    await client.send(new HeadBucketCommand({ Bucket: location.bucket }));
  } catch (cause) {
    client.destroy();
    // HeadBucket answers without a body: the status is all the engine says.
    const answer = PROBE_ANSWERS[statusOf(cause) ?? 0];
    if (answer !== undefined)
      throw new StorageError('STORAGE_UNAVAILABLE', `S3 ${describeS3Location(location)}: ${answer}`, {
        cause,
      });
    throw bucket.failure('HeadBucket (opening the store)', cause);
  }
  return bucket;
}

/** The SDK configuration a location gives; credentials stay with the SDK's default chain. */
export function s3ClientConfig(location: S3Location): S3ClientConfig {
  return {
    ...(location.endpoint === undefined ? {} : { endpoint: location.endpoint }),
    // Without region=, AWS takes the SDK's own (AWS_REGION, the profile); a custom endpoint
    // rarely cares, but the SDK needs one to sign, and us-east-1 is what MinIO and Ceph RGW
    // expect unless configured otherwise.
    ...(location.region !== undefined
      ? { region: location.region }
      : location.endpoint !== undefined
        ? { region: 'us-east-1' }
        : {}),
    forcePathStyle: location.pathStyle,
    // Checksums only where S3 requires them: a streamed upload with a checksum is sent in
    // the aws-chunked framing, which some S3-compatible stores keep as the object's bytes.
    // Integrity does not rest on them: blobs are authenticated (AES-GCM) when read, tiles
    // are hashes a verifier checks, and the transport is TLS.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      connectionTimeout: CONNECT_TIMEOUT_MS,
      httpAgent: { keepAlive: true, maxSockets: MAX_SOCKETS },
      httpsAgent: { keepAlive: true, maxSockets: MAX_SOCKETS },
    },
  };
}

/** The HTTP status the engine answered, if it answered. */
export function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** `GetObject`/`HeadObject` of a key that does not exist. */
export function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
}

/** An operation this engine does not offer (s3rver has no `ListMultipartUploads`, for one). */
export function isNotImplemented(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  const status = statusOf(error);
  return name === 'NotImplemented' || name === 'MethodNotAllowed' || status === 501 || status === 405;
}

function engineFailure(location: S3Location, operation: string, cause: unknown): StorageError {
  const error = cause as { name?: string; message?: string; code?: string } | undefined;
  const status = statusOf(cause);
  const answer = [
    error?.name ?? 'Error',
    status === undefined ? undefined : `HTTP ${status}`,
    error?.code,
    error?.message,
  ]
    .filter((part) => part !== undefined && part !== '')
    .join(': ');
  return new StorageError(
    'STORAGE_UNAVAILABLE',
    `S3 ${describeS3Location(location)}: ${operation} failed: ${answer}`,
    { cause },
  );
}
