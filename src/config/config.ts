import type { PolicyVersionInput, SiteAssignment } from '../residency/index.js';

export interface SiteConfig {
  readonly name: string;
  readonly jurisdiction: string;
  readonly description: string;
}

/** The validated, frozen configuration every other module receives. */
export interface Config {
  readonly deployment: string;
  readonly dataDir: string;
  readonly configFile: string;
  readonly server: { readonly host: string; readonly port: number };
  readonly limits: { readonly maxSampleBytes: number };
  readonly log: { readonly level: string };
  /** The transparency log of every node. */
  readonly ledger: { readonly checkpointIntervalMs: number };
  /** Hash reputation: the most hashes one batch look-up may ask about. */
  readonly lookup: { readonly maxBatch: number };
  /** The statistics buffer: telemetry ingestion and aggregates (see src/stats). */
  readonly stats: StatsConfig;
  readonly sites: readonly SiteConfig[];
  readonly regions: ReadonlyMap<string, readonly string[]>;
  readonly policy: readonly PolicyVersionInput[];
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

export const DEFAULTS = {
  dataDir: './glasshouse-data',
  host: '127.0.0.1',
  port: 8080,
  maxSampleBytes: 256 * 1024 * 1024,
  logLevel: 'info',
  checkpointIntervalMs: 1000,
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
} as const;

export type { PolicyVersionInput, SiteAssignment };
