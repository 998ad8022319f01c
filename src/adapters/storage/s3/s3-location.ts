import { StorageError } from '../../../shared/storage-errors.js';

/**
 * Where an S3 store keeps its objects: a bucket, a key prefix inside it, and how to reach
 * the endpoint. Never credentials: those come from the environment the SDK reads itself
 * (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_PROFILE`, an
 * instance or container role), so a configuration file never holds a secret.
 */
export interface S3Location {
  readonly bucket: string;
  /** Empty, or ends in `/`: every key of the store starts with it. */
  readonly prefix: string;
  /** `undefined`: the SDK's own (`AWS_REGION`, the profile) for AWS, `us-east-1` for a custom endpoint. */
  readonly region: string | undefined;
  /** An S3-compatible store (MinIO, Ceph RGW, Garage); `undefined` for AWS itself. */
  readonly endpoint: string | undefined;
  /** `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key`. */
  readonly pathStyle: boolean;
}

/** The query keys an `s3://` URL may carry; anything else is refused, never ignored. */
const QUERY_KEYS = new Set(['region', 'endpoint', 'pathStyle']);
/** What S3 allows for a bucket name (the stricter, DNS-compatible rules). */
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION_PATTERN = /^[a-z0-9-]{1,64}$/;
const PREFIX_SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * Reads `s3://bucket/prefix?region=…&endpoint=…&pathStyle=…` (see docs/storage-s3.md).
 * `pathStyle` defaults to `true` with a custom `endpoint` (what MinIO, Ceph RGW and Garage
 * answer without a wildcard DNS name) and to `false` for AWS.
 *
 * @example
 * parseS3Location('s3://zurich-samples/blobs?region=eu-central-2&endpoint=https://s3.zurich.internal');
 * // { bucket: 'zurich-samples', prefix: 'blobs/', region: 'eu-central-2', endpoint: 'https://s3.zurich.internal', pathStyle: true }
 */
export function parseS3Location(text: string): S3Location {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('not a URL (expected s3://bucket/prefix?region=…&endpoint=…)');
  }
  if (url.protocol !== 's3:') throw invalid(`the scheme must be s3:, not ${url.protocol}`);
  if (url.username !== '' || url.password !== '')
    throw invalid('credentials never go in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  if (url.port !== '') throw invalid('a port belongs in endpoint=, not after the bucket');
  if (url.hash !== '') throw invalid('a URL of a bucket has no #fragment');
  const bucket = url.hostname;
  if (!BUCKET_PATTERN.test(bucket) || bucket.includes('..'))
    throw invalid(`"${bucket}" is not a bucket name (3-63 of a-z, 0-9, ".", "-")`);
  for (const key of url.searchParams.keys()) {
    if (!QUERY_KEYS.has(key))
      throw invalid(`unknown query key "${key}" (known: ${[...QUERY_KEYS].join(', ')})`);
  }
  const endpoint = parseEndpoint(url.searchParams.get('endpoint'));
  return {
    bucket,
    prefix: parsePrefix(url.pathname),
    region: parseRegion(url.searchParams.get('region')),
    endpoint,
    pathStyle: parsePathStyle(url.searchParams.get('pathStyle'), endpoint !== undefined),
  };
}

/** How a location reads in messages: never a secret, since the URL holds none. */
export function describeS3Location(location: S3Location): string {
  const at = location.endpoint === undefined ? '' : ` at ${location.endpoint}`;
  return `s3://${location.bucket}/${location.prefix}${at}`;
}

function parsePrefix(pathname: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    throw invalid('the prefix is not valid percent-encoding');
  }
  const trimmed = decoded.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return '';
  for (const segment of trimmed.split('/')) {
    if (!PREFIX_SEGMENT.test(segment) || segment === '.' || segment === '..')
      throw invalid(
        `the prefix "${trimmed}" has a segment that is not a plain name (A-Z, a-z, 0-9, ".", "_", "-")`,
      );
  }
  return `${trimmed}/`;
}

function parseRegion(value: string | null): string | undefined {
  if (value === null) return undefined;
  if (!REGION_PATTERN.test(value)) throw invalid(`"${value}" is not a region name`);
  return value;
}

function parseEndpoint(value: string | null): string | undefined {
  if (value === null) return undefined;
  let endpoint: URL;
  try {
    endpoint = new URL(value);
  } catch {
    throw invalid(`endpoint "${value}" is not a URL`);
  }
  if (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:')
    throw invalid(`endpoint must be an http(s) URL, not ${endpoint.protocol}`);
  if (endpoint.username !== '' || endpoint.password !== '')
    throw invalid('credentials never go in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  if (endpoint.search !== '' || endpoint.hash !== '' || endpoint.pathname !== '/')
    throw invalid(`endpoint "${value}" must be scheme, host and port only`);
  return endpoint.origin;
}

function parsePathStyle(value: string | null, customEndpoint: boolean): boolean {
  if (value === null) return customEndpoint;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw invalid(`pathStyle must be true or false, not "${value}"`);
}

function invalid(problem: string): StorageError {
  return new StorageError('INVALID_STORAGE_URL', `invalid S3 location: ${problem}`);
}
