import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseStatsStore } from '../src/adapters/storage/clickhouse/clickhouse-stats-store.js';
import { DuckDbStatsStore } from '../src/adapters/storage/duckdb/duckdb-stats-store.js';
import { mergeGroups } from '../src/control/telemetry/stats-query.js';
import type { StatsStore } from '../src/ports/storage.js';
import { engineAvailable } from './support/engines/availability.js';
import {
  CLICKHOUSE_INSTALL,
  type ClickHouseTestServer,
  clickhouseExecutable,
  startClickHouse,
} from './support/engines/clickhouse.js';
import {
  aggregationArbitrary,
  byRow,
  chunksOf,
  encodeRow,
  eventArbitrary,
  expectedEventsOf,
  expectedGroups,
  type GeneratedEvent,
  INSTALLATIONS,
  sortGroups,
} from './support/stats-rows.js';

/*
 * One contract for every StatsStore backend (the way Kysely runs one suite over every
 * dialect): what a store answers is compared with counts computed here from the generated
 * rows, never with another store. ClickHouse runs when its server is installed (a throwaway
 * server in a temporary directory); without it the suite says so loudly, and fails under
 * GLASSHOUSE_REQUIRE_ENGINES=1.
 */

const SEED = 1912;

interface Backend {
  readonly name: string;
  readonly available: () => boolean;
  /** A fresh, empty store, and a way to open the same data again after `close`. */
  fresh(): Promise<{ store: StatsStore; reopen: () => Promise<StatsStore> }>;
}

const temporary: string[] = [];
let clickhouse: ClickHouseTestServer | undefined;
let databases = 0;
const clickhouseAvailable = engineAvailable('ClickHouse', clickhouseExecutable, CLICKHOUSE_INSTALL);

const duckdb: Backend = {
  name: 'DuckDB',
  available: () => true,
  async fresh() {
    const directory = mkdtempSync(join(tmpdir(), 'glasshouse-stats-contract-'));
    temporary.push(directory);
    const open = () => DuckDbStatsStore.open({ directory, memoryLimitMb: 128 });
    return { store: await open(), reopen: open };
  },
};

const clickHouse: Backend = {
  name: 'ClickHouse',
  available: () => clickhouseAvailable,
  async fresh() {
    const server = clickhouse!;
    const url = await server.createDatabase(`contract_${databases++}`);
    const open = () => ClickHouseStatsStore.open({ url, env: server.env });
    return { store: await open(), reopen: open };
  },
};

const BACKENDS = [duckdb, clickHouse];
const opened: StatsStore[] = [];

beforeAll(async () => {
  if (clickhouseAvailable) clickhouse = await startClickHouse();
}, 300_000);

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close().catch(() => undefined);
});

afterAll(async () => {
  await clickhouse?.stop();
  for (const directory of temporary) rmSync(directory, { recursive: true, force: true });
});

async function fresh(backend: Backend) {
  const { store, reopen } = await backend.fresh();
  opened.push(store);
  return {
    store,
    async reopen() {
      opened.splice(opened.indexOf(store), 1);
      await store.close();
      const again = await reopen();
      opened.push(again);
      return again;
    },
  };
}

function sample<T>(arbitrary: fc.Arbitrary<T>, count: number, seed = SEED): T[] {
  return fc.sample(arbitrary, { numRuns: count, seed });
}

async function aggregateSorted(store: StatsStore, query: Parameters<StatsStore['aggregate']>[0]) {
  return sortGroups(await store.aggregate(query));
}

for (const backend of BACKENDS) {
  describe.runIf(backend.available())(`StatsStore contract: ${backend.name}`, () => {
    describe('when rows are loaded in chunks cut anywhere', () => {
      it('answers every aggregate with the counts of the rows themselves', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(eventArbitrary, { minLength: 0, maxLength: 300 }),
            fc.array(fc.nat(), { maxLength: 6 }),
            fc.array(aggregationArbitrary, { minLength: 6, maxLength: 6 }),
            async (events, cuts, queries) => {
              const { store } = await fresh(backend);
              await store.load(chunksOf(events, cuts), 1);
              for (const query of [{ groupBy: [] }, ...queries]) {
                expect(await aggregateSorted(store, query), JSON.stringify(query)).toEqual(
                  expectedGroups(events, query),
                );
              }
            },
          ),
          { numRuns: 6, seed: SEED },
        );
      });

      it('gives the control plane what it needs to suppress small groups exactly as it would over the rows', async () => {
        const { store } = await fresh(backend);
        const events = sample(eventArbitrary, 400);
        await store.load(chunksOf(events, []), 1);
        for (const groupBy of [['day'], ['country', 'threat'], ['verdict', 'type', 'day']] as const) {
          const merged = mergeGroups([await store.aggregate({ groupBy })], 3);
          const expected = mergeGroups([expectedGroups(events, { groupBy })], 3);
          expect(merged.suppressed).toBe(expected.suppressed);
          expect(sortGroups(merged.groups)).toEqual(sortGroups(expected.groups));
          expect(merged.groups.every((group) => group.installations >= 3)).toBe(true);
        }
      });
    });

    describe('loadedThrough', () => {
      it('is 0 before any load, then the through of the last load, and survives a reopen with the rows', async () => {
        const { store, reopen } = await fresh(backend);
        expect(await store.loadedThrough()).toBe(0);
        const events = sample(eventArbitrary, 50);
        await store.load(chunksOf(events.slice(0, 20), []), 5);
        expect(await store.loadedThrough()).toBe(5);
        await store.load(chunksOf(events.slice(20), [7, 300]), 9);
        await store.load([], 12);
        expect(await store.loadedThrough()).toBe(12);
        const again = await reopen();
        expect(await again.loadedThrough()).toBe(12);
        expect(await aggregateSorted(again, { groupBy: ['day', 'threat'] })).toEqual(
          expectedGroups(events, { groupBy: ['day', 'threat'] }),
        );
      });

      it('is not lowered when retention or an erasure deletes the rows of the last load', async () => {
        const { store } = await fresh(backend);
        const [old, recent] = [sample(eventArbitrary, 30), sample(eventArbitrary, 30, SEED + 1)];
        await store.load(chunksOf(recent, []), 3);
        await store.load(chunksOf(old, []), 8);
        await store.deleteBefore(new Date('2030-01-01T00:00:00Z'));
        expect(await store.aggregate({ groupBy: [] })).toEqual([{ key: [], events: 0, installations: 0 }]);
        expect(await store.loadedThrough()).toBe(8);
      });
    });

    describe('retention (deleteBefore)', () => {
      it('deletes exactly the events before the cutoff, to the millisecond, and says how many', async () => {
        const { store } = await fresh(backend);
        const events = sample(eventArbitrary, 500);
        await store.load(chunksOf(events, [100]), 1);
        // A cutoff on an event's own millisecond: that event stays.
        const cutoff = [...events].sort((a, b) => a.ts.getTime() - b.ts.getTime())[250]!.ts;
        const kept = events.filter((e) => e.ts >= cutoff);
        expect(await store.deleteBefore(cutoff)).toBe(events.length - kept.length);
        expect(await store.deleteBefore(cutoff)).toBe(0);
        for (const groupBy of [[], ['day'], ['country', 'type']] as const) {
          expect(await aggregateSorted(store, { groupBy })).toEqual(expectedGroups(kept, { groupBy }));
        }
      });
    });

    describe('erasure of an installation', () => {
      it('deletes its events only, says how many, and compacting keeps everything else', async () => {
        const { store, reopen } = await fresh(backend);
        const events = sample(eventArbitrary, 400);
        await store.load(chunksOf(events, []), 4);
        const [erased] = INSTALLATIONS;
        const others = events.filter((e) => e.installation !== erased);
        expect(await store.deleteInstallation(erased)).toBe(events.length - others.length);
        expect(await store.deleteInstallation(erased)).toBe(0);
        await store.compact();
        expect(await store.eventsOf(erased, {})).toEqual([]);
        expect(await store.exportInstallation(erased)).toEqual([]);
        const counts = await store.countByInstallation();
        expect(counts.has(erased)).toBe(false);
        expect(counts).toEqual(countsOf(others));
        const again = await reopen();
        expect(await aggregateSorted(again, { groupBy: ['country', 'threat'] })).toEqual(
          expectedGroups(others, { groupBy: ['country', 'threat'] }),
        );
        expect(await again.loadedThrough()).toBe(4);
      });
    });

    describe('eventsOf and exportInstallation', () => {
      it('give one installation its rows in a range, oldest first, as the rows were loaded', async () => {
        const { store } = await fresh(backend);
        const events = sample(eventArbitrary, 300);
        await store.load(chunksOf(events, [1, 2, 3]), 1);
        const installation = INSTALLATIONS[2];
        const sorted = events.map((e) => e.ts).sort((a, b) => a.getTime() - b.getTime());
        const range = { from: sorted[50]!, to: sorted[250]! };
        for (const asked of [{}, range]) {
          const rows = await store.eventsOf(installation, asked);
          expect(rows.map((r) => r.ts)).toEqual([...rows.map((r) => r.ts)].sort());
          expect([...rows].sort(byRow)).toEqual(expectedEventsOf(events, installation, asked));
        }
      });

      it('exports rows in the load format that load back into a fresh store of every backend with the same answers', async () => {
        const { store } = await fresh(backend);
        const events = sample(eventArbitrary, 300);
        await store.load(chunksOf(events, []), 1);
        const exported = (
          await Promise.all(INSTALLATIONS.map((installation) => store.exportInstallation(installation)))
        ).flat();
        expect(exported).toHaveLength(events.length);
        for (const target of BACKENDS.filter((b) => b.available())) {
          const { store: other } = await fresh(target);
          await other.load(
            exported.map((row) => Buffer.from(row)),
            1,
          );
          for (const groupBy of [
            ['day', 'country'],
            ['threat', 'verdict', 'type'],
          ] as const) {
            expect(await aggregateSorted(other, { groupBy }), `${backend.name} → ${target.name}`).toEqual(
              expectedGroups(events, { groupBy }),
            );
          }
          const installation = INSTALLATIONS[5];
          expect([...(await other.eventsOf(installation, {}))].sort(byRow)).toEqual(
            expectedEventsOf(events, installation),
          );
          expect(await other.countByInstallation()).toEqual(countsOf(events));
        }
      });
    });

    describe('a load the store cannot read', () => {
      it('fails, and leaves the marker and the rows as they were', async () => {
        const { store } = await fresh(backend);
        const events = sample(eventArbitrary, 20);
        await store.load(chunksOf(events, []), 2);
        const bad = Buffer.from(
          `2026-11-01 10:00:00.000\u001fnot-a-uuid\u001fscan\u001fDE\u001f\u001f\u001f\u001f\u001f\u001f\n`,
        );
        await expect(store.load([...chunksOf(events, []), bad], 3)).rejects.toThrow();
        expect(await store.loadedThrough()).toBe(2);
        // The next load (as the buffer retries) counts only what committed.
        await store.load(chunksOf(events, []), 3);
        expect(await aggregateSorted(store, { groupBy: ['type'] })).toEqual(
          expectedGroups([...events, ...events], { groupBy: ['type'] }),
        );
      });
    });
  });
}

function countsOf(events: readonly GeneratedEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of events) counts.set(event.installation, (counts.get(event.installation) ?? 0) + 1);
  return counts;
}

describe.runIf(clickhouseAvailable)('ClickHouseStatsStore', () => {
  describe('when a load was interrupted between its rows and its marker', () => {
    it('deletes the rows of that load at open, so the write-ahead log replays them exactly once', async () => {
      const server = clickhouse!;
      const name = `orphans_${databases++}`;
      const url = await server.createDatabase(name);
      const store = await ClickHouseStatsStore.open({ url, env: server.env });
      opened.push(store);
      const events = sample(eventArbitrary, 40);
      await store.load(chunksOf(events, []), 6);
      // What a kill between the two inserts leaves: rows of load 7, no marker 7.
      await server.query(
        `INSERT INTO ${name}.events SELECT ts, ts_ms, installation, type, country, sha256, md5, verdict, threat, product, os, 7 AS load_seq FROM ${name}.events`,
      );
      expect(await store.aggregate({ groupBy: [] })).toEqual([
        { key: [], events: 80, installations: expect.any(Number) },
      ]);
      opened.splice(opened.indexOf(store), 1);
      await store.close();
      const again = await ClickHouseStatsStore.open({ url, env: server.env });
      opened.push(again);
      expect(await again.loadedThrough()).toBe(6);
      expect(await aggregateSorted(again, { groupBy: ['day'] })).toEqual(
        expectedGroups(events, { groupBy: ['day'] }),
      );
    });
  });

  describe('when a large load breaks off in the middle of its stream', () => {
    it('rejects, commits nothing of it, and the retried load is counted once', async () => {
      const { store } = await fresh(clickHouse);
      const events = sample(eventArbitrary, 2000);
      const good = chunksOf(events, []);
      // Many chunks are streamed before the one that is not the load format.
      const many = Array.from({ length: 40 }, () => good).flat();
      await expect(store.load([...many, Buffer.from('not a row\n'), ...good], 1)).rejects.toThrow(
        /load format/,
      );
      expect(await store.loadedThrough()).toBe(0);
      await store.load(good, 1);
      expect(await store.loadedThrough()).toBe(1);
      expect(await aggregateSorted(store, { groupBy: ['country'] })).toEqual(
        expectedGroups(events, { groupBy: ['country'] }),
      );
    });
  });

  describe('when a row is not the load format', () => {
    it('refuses the load before the view converts a field, commits nothing, and names the load format', async () => {
      const { store } = await fresh(clickHouse);
      const events = sample(eventArbitrary, 20);
      const good = chunksOf(events, []);
      const [row] = encodeRow(events[0]!).slice(0, -1).split('\n');
      const fields = row!.split('\u001f');
      const withField = (index: number, value: string) =>
        `${fields.map((field, i) => (i === index ? value : field)).join('\u001f')}\n`;
      for (const bad of [
        `${fields.slice(0, 9).join('\u001f')}\n`,
        `${[...fields, 'x'].join('\u001f')}\n`,
        withField(0, fields[0]!.replace(/\.\d{3}$/, '.07')),
        withField(0, fields[0]!.replace(/\.\d{3}$/, '')),
        withField(0, 'yesterday at noon'),
        withField(1, ''),
        withField(2, ''),
        withField(3, ''),
      ]) {
        await expect(store.load([...good, Buffer.from(bad)], 1), JSON.stringify(bad)).rejects.toThrow(
          /^load format: /,
        );
        expect(await store.loadedThrough()).toBe(0);
      }
      await store.load(good, 1);
      expect(await aggregateSorted(store, { groupBy: ['country'] })).toEqual(
        expectedGroups(events, { groupBy: ['country'] }),
      );
    });
  });

  describe('when the database was made before loads went through the view', () => {
    it('adds the load tables and the view at open and keeps what was loaded', async () => {
      const server = clickhouse!;
      const name = `before_view_${databases++}`;
      const url = await server.createDatabase(name);
      // What an earlier release left: the two tables, a committed load, no view.
      const events = sample(eventArbitrary, 30);
      const store = await ClickHouseStatsStore.open({ url, env: server.env });
      await store.load(chunksOf(events, []), 4);
      await store.close();
      for (const object of ['load_rows_into_events', 'load_rows', 'load_pending'])
        await server.query(`DROP TABLE ${name}.${object}`);
      const again = await ClickHouseStatsStore.open({ url, env: server.env });
      opened.push(again);
      expect(await again.loadedThrough()).toBe(4);
      await again.load(chunksOf(events, [7, 500]), 5);
      expect(await again.loadedThrough()).toBe(5);
      expect(await aggregateSorted(again, { groupBy: ['type'] })).toEqual(
        expectedGroups([...events, ...events], { groupBy: ['type'] }),
      );
    });
  });

  describe('when the server cannot be used', () => {
    it('names the engine and its message: unreachable, refused credentials, a missing database, a bad URL', async () => {
      const server = clickhouse!;
      const url = await server.createDatabase(`contract_${databases++}`);
      await expect(
        ClickHouseStatsStore.open({ url: 'clickhouse://127.0.0.1:1/x', env: {} }),
      ).rejects.toMatchObject({
        code: 'STORAGE_UNAVAILABLE',
        message: expect.stringMatching(
          /^ClickHouse at http:\/\/127\.0\.0\.1:1 is unavailable: .*ECONNREFUSED/,
        ),
      });
      await expect(
        ClickHouseStatsStore.open({ url, env: { ...server.env, CLICKHOUSE_PASSWORD: 'wrong' } }),
      ).rejects.toMatchObject({
        code: 'STORAGE_UNAVAILABLE',
        message: expect.stringMatching(/^ClickHouse at .* is unavailable: .*password/i),
      });
      await expect(
        ClickHouseStatsStore.open({ url: url.replace(/contract_\d+$/, 'absent'), env: server.env }),
      ).rejects.toMatchObject({
        code: 'STORAGE_UNAVAILABLE',
        message: expect.stringMatching(/^ClickHouse at .*(Database absent doesn't exist|no database absent)/),
      });
      for (const bad of ['postgres://h/db', 'clickhouse://user:secret@h/db', 'clickhouse://h/a;b']) {
        await expect(ClickHouseStatsStore.open({ url: bad, env: {} })).rejects.toMatchObject({
          code: 'INVALID_STORAGE_URL',
          message: expect.not.stringContaining('secret'),
        });
      }
    });
  });

  describe('when an installation is erased', () => {
    it('keeps its id out of the mutation ClickHouse records', async () => {
      const server = clickhouse!;
      const { store } = await fresh(clickHouse);
      await store.load(chunksOf(sample(eventArbitrary, 100), []), 1);
      expect(await store.deleteInstallation(INSTALLATIONS[3])).toBeGreaterThan(0);
      const mutations = await server.query("SELECT command FROM system.mutations WHERE table = 'events'");
      expect(mutations).toMatch(/cityHash64/);
      expect(mutations).not.toContain(INSTALLATIONS[3]);
    });
  });
});
