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
  readonly sites: readonly SiteConfig[];
  readonly regions: ReadonlyMap<string, readonly string[]>;
  readonly policy: readonly PolicyVersionInput[];
}

export const DEFAULTS = {
  dataDir: './glasshouse-data',
  host: '127.0.0.1',
  port: 8080,
  maxSampleBytes: 256 * 1024 * 1024,
  logLevel: 'info',
  checkpointIntervalMs: 1000,
} as const;

export type { PolicyVersionInput, SiteAssignment };
