import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config, RateLimitsConfig, ServerConfig, StatsConfig } from '../../src/config/config.js';
import { initDataDir } from '../../src/config/data-dir.js';
import { loadConfig, resolvePaths } from '../../src/config/load.js';
import type { Role } from '../../src/control/auth/roles.js';
import { type AppOptions, buildApp } from '../../src/http/app.js';
import { type Glasshouse, openGlasshouse } from '../../src/main.js';
import type { EventLogger } from '../../src/shared/domain-events.js';
import type { SiteWaitSettings } from '../../src/shared/site-wait.js';

export interface TokenOptions {
  readonly person?: string | null;
  readonly expires?: string;
}

export interface Harness {
  readonly dataDir: string;
  readonly glasshouse: Glasshouse;
  readonly app: FastifyInstance;
  /**
   * A fresh token of the role (all sites unless given). Every token but a product's belongs to
   * a person of its own unless `person` names one (`null`: none, as tokens made before people).
   */
  token(role: Role, sites?: readonly string[], options?: TokenOptions): Promise<string>;
  close(): Promise<void>;
}

/**
 * A whole Glasshouse on a new temporary data directory with the example configuration,
 * driven through `app.inject`. `now` pins the clock where a test needs it.
 */
export async function startHarness(
  options: {
    now?: () => Date;
    maxSampleBytes?: number;
    stats?: Partial<StatsConfig>;
    server?: Partial<ServerConfig>;
    /** Each off unless given: every test's requests come from one address, 127.0.0.1. */
    rateLimits?: Partial<RateLimitsConfig>;
    lookup?: Partial<Config['lookup']>;
    /** The logs' settings, e.g. the witnesses they ask to cosign (`ledger.witnesses`). */
    ledger?: Partial<Config['ledger']>;
    /** How background jobs wait for a site that is away (see OpenOptions). */
    siteWait?: SiteWaitSettings;
    /** Samples per batch of a hunt at a site (see OpenOptions). */
    huntBatchSize?: number;
    /** Where domain events are logged (none unless given: the app logs silently). */
    logger?: EventLogger;
    /** `/metrics` freshness (see AppOptions). */
    metrics?: AppOptions['metrics'];
    /** Runs on the new data directory before anything opens it (an offline command's work). */
    prepare?: (config: Config) => Promise<void>;
  } = {},
): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'glasshouse-test-'));
  initDataDir(resolvePaths({ dataDir }));
  const loaded = loadConfig({ dataDir, logLevel: 'silent' });
  const off = { max: 0, windowMs: 60_000 };
  const config: Config = {
    ...loaded,
    ...(options.maxSampleBytes === undefined ? {} : { limits: { maxSampleBytes: options.maxSampleBytes } }),
    ...(options.stats === undefined ? {} : { stats: { ...loaded.stats, ...options.stats } }),
    server: { ...loaded.server, ...options.server },
    rateLimits: {
      perAddress: off,
      perToken: off,
      failedAuthPerAddress: off,
      registrationsPerAddress: off,
      registrationsPerToken: off,
      ...options.rateLimits,
    },
    lookup: { ...loaded.lookup, ...options.lookup },
    ledger: { ...loaded.ledger, ...options.ledger },
  };
  await options.prepare?.(config);
  const glasshouse = await openGlasshouse(config, {
    publish: true,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.siteWait === undefined ? {} : { siteWait: options.siteWait }),
    ...(options.huntBatchSize === undefined ? {} : { huntBatchSize: options.huntBatchSize }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  await glasshouse.recover();
  const app = await buildApp({
    glasshouse,
    logLevel: 'silent',
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
  });
  await app.ready();
  let people = 0;
  return {
    dataDir,
    glasshouse,
    app,
    async token(role, sites, tokenOptions = {}) {
      people += 1;
      const person =
        tokenOptions.person === undefined
          ? role === 'product'
            ? null
            : `${role} officer ${people}`
          : tokenOptions.person;
      const created = await glasshouse.tokens.create(
        {
          role,
          sites,
          ...(person === null ? {} : { person }),
          ...(tokenOptions.expires === undefined ? {} : { expires: tokenOptions.expires }),
        },
        { role: 'admin', token: 'test' },
      );
      return created.token;
    },
    async close() {
      await app.close();
      await glasshouse.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
