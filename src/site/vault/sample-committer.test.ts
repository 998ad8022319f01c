import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely, Migration } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../adapters/storage/fs/fs-blob-store.js';
import { openSqliteMetadataStore } from '../../adapters/storage/sqlite/sqlite-metadata-store.js';
import type { BlobCommit, BlobStore, MetadataStore } from '../../ports/storage.js';
import { KeyedLock } from '../../shared/keyed-lock.js';
import { SampleCommitter } from './sample-committer.js';

interface Tables {
  rows: { sha256: string; n: number };
}

const migrations: Record<string, Migration> = {
  '0001': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('rows')
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('n', 'integer', (c) => c.primaryKey())
        .execute();
    },
  },
};

let dir: string | undefined;
let store: MetadataStore<Tables> | undefined;
afterEach(async () => {
  await store?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** A blob store over files that counts its group commits; `failKey` fails that key's publication. */
async function open(options: { failKey?: string } = {}) {
  dir = mkdtempSync(join(tmpdir(), 'glasshouse-committer-'));
  store = await openSqliteMetadataStore<Tables>({
    file: join(dir, 'db.sqlite'),
    migrations,
    groupSync: true,
  });
  const files = await new FsBlobStore(join(dir, 'site')).open();
  const batches: number[] = [];
  let syncs = 0;
  const blobs: BlobStore = {
    createWriter: () => files.createWriter(),
    read: (key) => files.read(key),
    has: (key) => files.has(key),
    delete: (key) => files.delete(key),
    list: () => files.list(),
    removeLeftovers: () => files.removeLeftovers(),
    async commitAll(commits: readonly BlobCommit[]) {
      batches.push(commits.length);
      const passing = commits.filter((c) => c.key !== options.failKey);
      const outcomes = await files.commitAll(passing);
      return commits.map(
        (c): PromiseSettledResult<void> =>
          c.key === options.failKey
            ? { status: 'rejected', reason: new Error('disk full') }
            : outcomes[passing.indexOf(c)]!,
      );
    },
  };
  const db = store.db;
  const durable = store.durable;
  const committer = new SampleCommitter<Tables>({
    db,
    durable: async () => {
      syncs += 1;
      await durable();
    },
    blobs,
    locks: new KeyedLock(),
  });
  /**
   * Writes `text` as a sample's blob and commits it with one row numbered `n`, or with the
   * number `ready` settles to (work the row waits for, as a fingerprint).
   */
  const upload = async (text: string, n: number, ready?: Promise<number>) => {
    // Handled here too: it may fail before the commit below takes it.
    ready?.catch(() => undefined);
    const key = createHash('sha256').update(text).digest('hex');
    const writer = await files.createWriter();
    writer.stream.end(text);
    return committer.commit({
      key,
      writer,
      ...(ready === undefined ? {} : { ready }),
      record: async (trx) => {
        const number = ready === undefined ? n : await ready;
        await trx.insertInto('rows').values({ sha256: key, n: number }).execute();
        return number;
      },
    });
  };
  const rows = () => db.selectFrom('rows').selectAll().orderBy('n').execute();
  const tmpFiles = () => readdirSync(join(dir!, 'site', 'tmp'));
  return { files, upload, rows, tmpFiles, batches, syncs: () => syncs };
}

const keyOf = (text: string) => createHash('sha256').update(text).digest('hex');

describe('SampleCommitter', () => {
  describe('when many uploads finish at once', () => {
    it('publishes their blobs in fewer group commits, and syncs rows fewer times, than uploads', async () => {
      const { files, upload, rows, batches, syncs, tmpFiles } = await open();
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => upload(`sample ${i}`, i)));
      expect(results).toEqual(Array.from({ length: 40 }, (_, i) => i));
      expect(await rows()).toHaveLength(40);
      for (let i = 0; i < 40; i += 1) expect(await files.has(keyOf(`sample ${i}`))).toBe(true);
      expect(batches.length).toBeLessThan(40);
      expect(batches.reduce((a, b) => a + b, 0)).toBe(40);
      expect(syncs()).toBeLessThan(40);
      expect(tmpFiles()).toEqual([]);
    });
  });

  describe('when the same file is uploaded twice in one batch, and again later', () => {
    it('publishes one blob, records every upload and leaves no temporary file', async () => {
      const { files, upload, rows, tmpFiles } = await open();
      await Promise.all([upload('same', 1), upload('same', 2), upload('other', 3)]);
      await upload('same', 4);
      expect((await rows()).map((r) => r.n)).toEqual([1, 2, 3, 4]);
      const listed: string[] = [];
      for await (const key of files.list()) listed.push(key);
      expect(listed.sort()).toEqual([keyOf('other'), keyOf('same')].sort());
      expect(tmpFiles()).toEqual([]);
    });
  });

  describe('when one blob cannot be published', () => {
    it('fails that upload alone, without its row, and commits the rest of the batch', async () => {
      const { files, upload, rows, tmpFiles } = await open({ failKey: keyOf('bad') });
      const outcomes = await Promise.allSettled([upload('good 1', 1), upload('bad', 2), upload('good 2', 3)]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((await rows()).map((r) => r.n)).toEqual([1, 3]);
      expect(await files.has(keyOf('bad'))).toBe(false);
      expect(tmpFiles()).toEqual([]);
    });
  });

  describe("when one upload's row cannot be written", () => {
    it('fails that upload alone and commits the others', async () => {
      const { upload, rows } = await open();
      // Row number 7 twice: the second breaks the primary key, so the batch is retried row by row.
      const outcomes = await Promise.allSettled([upload('a', 7), upload('b', 7), upload('c', 8)]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((await rows()).map((r) => r.n)).toEqual([7, 8]);
    });
  });

  describe('when the rows of an upload wait for work still running', () => {
    it('joins the batch at once and writes its row, with that work, once the work settles', async () => {
      const { files, upload, rows } = await open();
      let settle: (n: number) => void = () => undefined;
      const work = new Promise<number>((resolve) => {
        settle = resolve;
      });
      const waiting = upload('slow', 0, work);
      const others = Promise.all([upload('x', 1), upload('y', 2)]);
      // The blob is published while the work runs; no row lands before it settles.
      await expect.poll(() => files.has(keyOf('slow'))).toBe(true);
      expect((await rows()).map((r) => r.n)).not.toContain(9);
      settle(9);
      expect(await waiting).toBe(9);
      expect(await others).toEqual([1, 2]);
      expect((await rows()).map((r) => r.n)).toEqual([1, 2, 9]);
    });

    it('fails that upload alone, without its row, when the work fails', async () => {
      const { upload, rows } = await open();
      const outcomes = await Promise.allSettled([
        upload('a', 1),
        upload('b', 2, Promise.reject(new Error('worker gone'))),
        upload('c', 3),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((await rows()).map((r) => r.n)).toEqual([1, 3]);
    });
  });
});
