import type { StatsAggregation, TimeRange } from './storage.js';

/**
 * The internal site API, shared by the server (site/api) and the client (HttpSiteClient), so
 * that both sides name every route and header from one place. Paths take `:param` segments
 * in Fastify's syntax; `pathOf` fills them in for the client.
 */
export const SITE_API_PREFIX = '/site/v1';

export const SITE_ROUTES = {
  health: { method: 'GET', path: '/site/v1/health' },
  admitInstallation: { method: 'POST', path: '/site/v1/installations/:installationId/admission' },
  storeSample: { method: 'POST', path: '/site/v1/samples' },
  findSample: { method: 'GET', path: '/site/v1/samples' },
  openSampleForDownload: { method: 'POST', path: '/site/v1/samples/:sha256/download' },
  usage: { method: 'GET', path: '/site/v1/usage' },
  tagSample: { method: 'PUT', path: '/site/v1/samples/:sha256/tags/:tag' },
  untagSample: { method: 'POST', path: '/site/v1/samples/:sha256/tags/:tag/removal' },
  commentOnSample: { method: 'PUT', path: '/site/v1/samples/:sha256/comments/:id' },
  listSampleComments: { method: 'GET', path: '/site/v1/samples/:sha256/comments' },
  sampleNotes: { method: 'GET', path: '/site/v1/samples/:sha256/notes' },
  searchSamples: { method: 'POST', path: '/site/v1/samples/search' },
  similarSamples: { method: 'POST', path: '/site/v1/samples/similar' },
  appendEvents: { method: 'POST', path: '/site/v1/events' },
  aggregateEvents: { method: 'POST', path: '/site/v1/events/aggregate' },
  eraseInstallationEvents: { method: 'POST', path: '/site/v1/installations/:installationId/events/erasure' },
  installationRecords: { method: 'GET', path: '/site/v1/installations/:installationId/records' },
  countInstallationRecords: { method: 'GET', path: '/site/v1/installations/:installationId/records/count' },
  commitInstallation: { method: 'POST', path: '/site/v1/installations/:installationId/commitment' },
  eraseInstallationSubmissions: {
    method: 'POST',
    path: '/site/v1/installations/:installationId/submissions/erasure',
  },
  eraseInstallationKey: { method: 'POST', path: '/site/v1/installations/:installationId/key/erasure' },
  exportInstallation: { method: 'GET', path: '/site/v1/installations/:installationId/export' },
  inventoryInstallation: { method: 'GET', path: '/site/v1/installations/:installationId/inventory' },
  openSamplePlaintext: { method: 'GET', path: '/site/v1/samples/:sha256/plaintext' },
  importSample: { method: 'PUT', path: '/site/v1/samples/:sha256/plaintext' },
  importSampleFrom: { method: 'POST', path: '/site/v1/samples/:sha256/copy' },
  importInstallation: { method: 'PUT', path: '/site/v1/installations/:installationId/records' },
  verifySample: { method: 'GET', path: '/site/v1/samples/:sha256/verification' },
  authenticateSample: { method: 'GET', path: '/site/v1/samples/:sha256/authentication' },
  purgeInstallations: { method: 'POST', path: '/site/v1/installations/purge' },
  recordRelocation: { method: 'POST', path: '/site/v1/relocations' },
  scanResidency: { method: 'GET', path: '/site/v1/residency-scan' },
  scanSamples: { method: 'POST', path: '/site/v1/samples/scan' },
  readLogTile: { method: 'GET', path: '/site/v1/log/*' },
} as const satisfies Record<string, { method: 'GET' | 'POST' | 'PUT'; path: string }>;

export type SiteRouteName = keyof typeof SITE_ROUTES;

/** A UUID per logical call: a retry carries the same one, and the site answers it once. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** `storeSample`: installation, file name and product, as {@link encodeHeaderJson}. */
export const SUBMISSION_HEADER = 'glasshouse-submission';
/** `importSample`: the sample's description (`RelocatableSample`), as {@link encodeHeaderJson}. */
export const SAMPLE_HEADER = 'glasshouse-sample';

export const OCTET_STREAM = 'application/octet-stream';
export const JSON_TYPE = 'application/json';

/** Fills a route's `:param` segments (and its `*` tail), each percent-encoded but the tail's slashes. */
export function pathOf(route: SiteRouteName, params: Readonly<Record<string, string>> = {}): string {
  return SITE_ROUTES[route].path
    .replace(/:([A-Za-z0-9]+)/g, (_match, name: string) => encodeURIComponent(required(params, name)))
    .replace('*', () => required(params, '*').split('/').map(encodeURIComponent).join('/'));
}

function required(params: Readonly<Record<string, string>>, name: string): string {
  const value = params[name];
  if (value === undefined) throw new TypeError(`route parameter ${name} missing`);
  return value;
}

/**
 * JSON in a header: base64url, so file names in any script (and any control character a
 * header may not carry) cross unchanged.
 */
export function encodeHeaderJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export function decodeHeaderJson(text: string | string[] | undefined): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** `StatsAggregation` on the wire: dates as ISO 8601. */
export interface WireAggregation {
  readonly groupBy: StatsAggregation['groupBy'];
  readonly from?: string;
  readonly to?: string;
  readonly types?: readonly string[];
  readonly country?: string;
  readonly withThreat?: boolean;
}

export function aggregationToWire(query: StatsAggregation): WireAggregation {
  const { from, to, ...rest } = query;
  return {
    ...rest,
    ...(from === undefined ? {} : { from: from.toISOString() }),
    ...(to === undefined ? {} : { to: to.toISOString() }),
  };
}

export function aggregationFromWire(wire: WireAggregation): StatsAggregation {
  const { from, to, ...rest } = wire;
  return { ...rest, ...rangeFromWire({ from, to }) };
}

/** A `TimeRange` as query parameters (ISO 8601). */
export function rangeToQuery(range: TimeRange | undefined): Record<string, string> {
  return {
    ...(range?.from === undefined ? {} : { from: range.from.toISOString() }),
    ...(range?.to === undefined ? {} : { to: range.to.toISOString() }),
  };
}

export function rangeFromWire(wire: { from?: string | undefined; to?: string | undefined }): TimeRange {
  return {
    ...(wire.from === undefined ? {} : { from: new Date(wire.from) }),
    ...(wire.to === undefined ? {} : { to: new Date(wire.to) }),
  };
}

/** An optional result (`undefined` at the port) as JSON: `{}` when absent. */
export interface Maybe<T> {
  readonly value?: T;
}
