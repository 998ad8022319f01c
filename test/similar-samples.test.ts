import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteMetadataStore } from '../src/adapters/storage/sqlite/sqlite-metadata-store.js';
import type { MetadataStore } from '../src/ports/storage.js';
import { SimilarSamples } from '../src/site/catalogue/similar-samples.js';
import { type VaultTables, vaultMigrations } from '../src/site/vault/vault-tables.js';
import { DEBIAN_FALSE, DEBIAN_TAIL, DEBIAN_TRUE } from './support/debian-digests.js';

/*
 * The site's similarity index against its table: loaded from it at start, and never answering
 * a row another process removed or changed behind its back.
 */

const TRUE = DEBIAN_TRUE.tlsh;
const FALSE = DEBIAN_FALSE.tlsh;
const TAIL = DEBIAN_TAIL.tlsh;

let dir: string;
let store: MetadataStore<VaultTables>;

const sha = (n: number) => n.toString(16).padStart(64, '0');

function row(n: number, tlsh: string | null, ssdeep: string | null = null) {
  return {
    sha256: sha(n),
    sha1: 'a'.repeat(40),
    md5: 'b'.repeat(32),
    sha512: 'c'.repeat(128),
    size: 1000 + n,
    ssdeep,
    tlsh,
    first_seen: '2026-03-01T00:00:00.000Z',
    last_seen: '2026-03-01T00:00:00.000Z',
  };
}

async function insert(n: number, tlsh: string | null, ssdeep: string | null = null) {
  await store.db
    .insertInto('samples')
    .values(row(n, tlsh, ssdeep))
    .execute();
}

const open = () => new SimilarSamples({ site: 'zurich', db: store.db });
const near = async (similar: SimilarSamples, tlsh = TRUE, maxDistance = 300) =>
  (await similar.query({ tlsh, maxDistance, limit: 100 })).map((s) => `${s.sha256.slice(-2)}:${s.distance}`);

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'glasshouse-similar-'));
  store = await openSqliteMetadataStore<VaultTables>({
    file: join(dir, 'site.db'),
    migrations: vaultMigrations,
  });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the site similarity index', () => {
  it('loads what the table holds when the site starts, over several pages', async () => {
    await insert(1, TRUE);
    await insert(2, FALSE);
    await insert(3, TAIL);
    await insert(4, null);
    await insert(5, 'TNULL');
    // Enough rows with no neighbour within 300 to need several pages of the load.
    const far = `T1${'00'.repeat(35)}`;
    await store.db.transaction().execute(async (trx) => {
      for (let n = 100; n < 10_150; n += 250) {
        const rows = Array.from({ length: Math.min(250, 10_150 - n) }, (_, i) => row(n + i, far));
        await trx.insertInto('samples').values(rows).execute();
      }
    });
    const similar = open();
    await similar.load();
    expect(similar.stats().samples).toBe(10_053);
    expect(await near(similar)).toEqual(['01:0', '02:11', '03:158']);
  }, 60_000);

  it('never answers a row removed or changed behind its back, and takes what it is told of', async () => {
    await insert(1, TRUE);
    await insert(2, FALSE);
    const similar = open();
    expect(await near(similar)).toEqual(['01:0', '02:11']);
    // Another process deletes one row and changes another: the index does not know.
    await store.db.deleteFrom('samples').where('sha256', '=', sha(1)).execute();
    await store.db.updateTable('samples').set({ tlsh: TAIL }).where('sha256', '=', sha(2)).execute();
    expect(await near(similar, TRUE, 100)).toEqual([]);
    expect(await near(similar, TAIL, 0)).toEqual(['02:0']);
    // A row the vault reports is read again.
    await insert(3, FALSE, '768:HxWT8daZtz/yGuwcgiYQ7CmSiqboQlVTxm:HxWT8YZtzwwLi1C9Txm');
    await similar.refresh([sha(3)]);
    const answered = await similar.query({
      tlsh: TRUE,
      ssdeep: '768:HxJTFBaZtz/yGuwcgiY77C0SiqboQSVTMm:HxJTFkZtzwwLi8C2TMm',
      maxDistance: 100,
      limit: 10,
    });
    expect(answered).toMatchObject([
      { sha256: sha(3), distance: 11, ssdeepScore: 80, size: 1003, site: 'zurich' },
    ]);
    await store.db.deleteFrom('samples').where('sha256', '=', sha(3)).execute();
    await similar.refresh([sha(3)]);
    expect(similar.stats().samples).toBe(1);
  });

  it('refuses what is not a TLSH digest with INVALID_TLSH', async () => {
    await expect(open().query({ tlsh: 'T1XYZ', maxDistance: 10, limit: 1 })).rejects.toMatchObject({
      code: 'INVALID_TLSH',
    });
  });
});
