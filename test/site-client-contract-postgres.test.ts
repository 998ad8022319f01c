import { afterAll, beforeAll, describe } from 'vitest';
import { openPostgresMetadataStore } from '../src/adapters/storage/postgres/postgres-metadata-store.js';
import type { SiteTables } from '../src/site/site-node.js';
import { type PostgresServer, postgresAvailable, startPostgres } from './support/engines/postgres.js';
import { siteClientContract } from './support/site-client-contract.js';
import { openTestSite } from './support/site-node.js';

const now = () => new Date('2026-03-01T12:00:00Z');

// The whole site contract (vault, subject keys, submissions, erasure, relocation) once more
// with the site's metadata on PostgreSQL: the domain's queries are the same code.
describe.runIf(postgresAvailable())('a site on PostgreSQL', () => {
  let server: PostgresServer;
  let databases = 0;
  beforeAll(async () => {
    server = await startPostgres();
  }, 300_000);
  afterAll(() => server?.stop());

  siteClientContract('SiteNode with its metadata on PostgreSQL', async () => {
    databases += 1;
    const url = await server.createDatabase(`site_${databases}`);
    const opened = await openTestSite({
      now,
      openMetadata: (migrations) => openPostgresMetadataStore<SiteTables>({ url, migrations }),
    });
    return {
      client: opened.site,
      recordFuzzyHashes: (sha256, hashes) => opened.site.vault.recordFuzzyHashes(sha256, hashes),
      close: opened.close,
    };
  });
});
