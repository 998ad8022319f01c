import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, type Migration, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteMetadataStore } from '../adapters/storage/sqlite/sqlite-metadata-store.js';
import type { MetadataStore } from '../ports/storage.js';
import { TransactionBatcher } from './transaction-batcher.js';

interface Tables {
  items: { id: number; name: string };
}

const migrations: Record<string, Migration> = {
  '0001': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('items')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

let store: MetadataStore<Tables> | undefined;
let dir: string | undefined;
afterEach(async () => {
  await store?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function open() {
  dir = mkdtempSync(join(tmpdir(), 'glasshouse-batcher-'));
  store = await openSqliteMetadataStore<Tables>({
    file: join(dir, 'db.sqlite'),
    migrations,
    groupSync: true,
  });
  return store;
}

describe('TransactionBatcher', () => {
  describe('when many callers write at once', () => {
    it('commits them in fewer transactions than callers, and answers each with its own result', async () => {
      const { db, durable } = await open();
      let syncs = 0;
      const batcher = new TransactionBatcher(db, async () => {
        syncs += 1;
        await durable();
      });
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          batcher.run(async (trx) => {
            await trx
              .insertInto('items')
              .values({ id: i, name: `n${i}` })
              .execute();
            return i * 2;
          }),
        ),
      );
      expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
      expect(syncs).toBeLessThan(50);
      const count = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM items`.execute(db);
      expect(count.rows[0]?.n).toBe(50);
    });
  });

  describe('when one caller’s write fails', () => {
    it('fails that caller only and commits the others', async () => {
      const { db, durable } = await open();
      const batcher = new TransactionBatcher(db, durable);
      const outcomes = await Promise.allSettled(
        [1, 2, 1, 3].map((id) =>
          batcher.run((trx) => trx.insertInto('items').values({ id, name: 'x' }).execute()),
        ),
      );
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      const ids = await db.selectFrom('items').select('id').orderBy('id').execute();
      expect(ids.map((r) => r.id)).toEqual([1, 2, 3]);
    });
  });

  describe('when the sync after a commit fails', () => {
    it('rejects the callers of that batch, writes nothing twice, and keeps serving', async () => {
      const { db } = await open();
      let failNext = true;
      const batcher = new TransactionBatcher(db, async () => {
        if (failNext) {
          failNext = false;
          throw new Error('disk on fire');
        }
      });
      const first = await Promise.allSettled(
        [1, 2].map((id) => batcher.run((trx) => trx.insertInto('items').values({ id, name: 'x' }).execute())),
      );
      expect(first[0]?.status).toBe('rejected');
      expect(first[1]?.status).toBe('fulfilled');
      await batcher.run((trx) => trx.insertInto('items').values({ id: 3, name: 'y' }).execute());
      const ids = await db.selectFrom('items').select('id').orderBy('id').execute();
      expect(ids.map((r) => r.id)).toEqual([1, 2, 3]);
    });
  });
});
