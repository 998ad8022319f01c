import type { PolicyVersionInput, SiteAssignment } from '../control/residency/index.js';
import type { ControlStorage, SiteStorage } from './storage-locations.js';

export interface SiteConfig {
  readonly name: string;
  readonly jurisdiction: string;
  readonly description: string;
  /** Where `glasshouse control` reaches the site over mutual TLS; unused by `up`. */
  readonly url?: string;
  /** The site's stores (`sites.<name>.storage`); embedded in its data directory by default. */
  readonly storage: SiteStorage;
}

/** The validated, frozen configuration every other module receives. */
export interface Config {
  readonly deployment: string;
  readonly dataDir: string;
  readonly configFile: string;
  /** The control plane's stores (`storage`); embedded in the data directory by default. */
  readonly storage: ControlStorage;
  readonly server: ServerConfig;
  /** Request rates and quotas against abuse (see src/http/limits.ts). */
  readonly rateLimits: RateLimitsConfig;
  readonly limits: { readonly maxSampleBytes: number };
  /** Fuzzy hashes and file type of every upload, as it streams (docs/catalogue.md). */
  readonly samples: { readonly fingerprints: boolean };
  readonly log: { readonly level: string };
  /** The transparency log of every node. */
  readonly ledger: {
    readonly checkpointIntervalMs: number;
    /** How long a publication waits for each witness's cosignature. */
    readonly witnessTimeoutMs: number;
    /** C2SP tlog-witnesses asked to cosign every checkpoint of every node. */
    readonly witnesses: readonly WitnessConfig[];
  };
  /** Hash reputation: the most hashes one batch look-up may ask about, the largest feed import. */
  readonly lookup: { readonly maxBatch: number; readonly maxImportBytes: number };
  /** The statistics buffer: telemetry ingestion and aggregates (see src/stats). */
  readonly stats: StatsConfig;
  readonly sites: readonly SiteConfig[];
  readonly regions: ReadonlyMap<string, readonly string[]>;
  readonly policy: readonly PolicyVersionInput[];
}

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  /**
   * Addresses or CIDRs of the load balancers in front of the server: only a connection from
   * one of them has its `X-Forwarded-For` believed. Empty: the client address is the peer's.
   */
  readonly trustProxy: readonly string[];
  /** Open connections one client address may hold (0: no cap); trusted proxies are exempt. */
  readonly maxConnectionsPerAddress: number;
  /** Time to receive a request's headers. */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request, headers and body. */
  readonly requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  readonly keepAliveTimeoutMs: number;
  /** A body must arrive at this average rate once `bodyGraceMs` have passed (0: no minimum). */
  readonly minBodyBytesPerSecond: number;
  readonly bodyGraceMs: number;
}

/** At most `max` requests in `windowMs`; `max: 0` turns the limit off. */
export interface RateLimit {
  readonly max: number;
  readonly windowMs: number;
}

export interface RateLimitsConfig {
  /** Every request from one client address, look-ups excepted. */
  readonly perAddress: RateLimit;
  /** Every request with one bearer token, look-ups excepted. */
  readonly perToken: RateLimit;
  /** Failed authentications (401) from one client address; past it, the address gets 429. */
  readonly failedAuthPerAddress: RateLimit;
  /** Installations registered from one client address. */
  readonly registrationsPerAddress: RateLimit;
  /** Installations registered with one token: a product token ships in every installed product. */
  readonly registrationsPerToken: RateLimit;
}

export interface StatsConfig {
  /** Groups of fewer distinct installations are suppressed in every answer. */
  readonly minGroupSize: number;
  /** Events older than this are deleted (hourly) and refused at ingestion. */
  readonly retentionDays: number;
  readonly maxBatchLines: number;
  readonly maxLineBytes: number;
  readonly maxBatchBytes: number;
  /** How often acknowledged events are loaded into the store, i.e. how stale aggregates may be. */
  readonly flushIntervalMs: number;
  /** DuckDB's memory limit, per site. */
  readonly memoryLimitMb: number;
}

export interface WitnessConfig {
  /** The witness's key name (the name in its verifier key). */
  readonly name: string;
  /** Its verifier key, `name+hhhhhhhh+base64(0x04 || key)` (`glasshouse witness key`). */
  readonly key: string;
  /** Its submission prefix: `POST <url>/add-checkpoint`. */
  readonly url: string;
}

export const DEFAULTS = {
  dataDir: './glasshouse-data',
  host: '127.0.0.1',
  port: 8080,
  maxSampleBytes: 256 * 1024 * 1024,
  logLevel: 'info',
  checkpointIntervalMs: 1000,
  witnessTimeoutMs: 1000,
  stats: {
    minGroupSize: 5,
    retentionDays: 365,
    maxBatchLines: 10_000,
    maxLineBytes: 4096,
    maxBatchBytes: 16 * 1024 * 1024,
    flushIntervalMs: 1000,
    memoryLimitMb: 512,
  },
  lookupMaxBatch: 10_000,
  lookupMaxImportBytes: 1024 * 1024 * 1024,
  server: {
    trustProxy: [] as readonly string[],
    maxConnectionsPerAddress: 64,
    headersTimeoutMs: 20_000,
    requestTimeoutMs: 300_000,
    keepAliveTimeoutMs: 72_000,
    minBodyBytesPerSecond: 1024,
    bodyGraceMs: 10_000,
  },
  rateLimits: {
    perAddress: { max: 6_000, windowMs: 60_000 },
    perToken: { max: 60_000, windowMs: 60_000 },
    failedAuthPerAddress: { max: 20, windowMs: 300_000 },
    registrationsPerAddress: { max: 100, windowMs: 3_600_000 },
    registrationsPerToken: { max: 0, windowMs: 86_400_000 },
  },
} as const;

export type { PolicyVersionInput, SiteAssignment };
