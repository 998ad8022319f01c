import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDbStatsStore } from '../../adapters/storage/duckdb/duckdb-stats-store.js';
import { encodeEventRow, type TelemetryEvent } from '../../control/telemetry/telemetry-event.js';
import { StatsBuffer } from './stats-buffer.js';

let directory: string;
let clock: Date;
const open: StatsBuffer[] = [];

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'glasshouse-stats-'));
  clock = new Date('2026-11-23T12:00:00Z');
});
afterEach(async () => {
  for (const buffer of open.splice(0)) await buffer.close().catch(() => undefined);
  rmSync(directory, { recursive: true, force: true });
});

async function openBuffer(options: { flushBytes?: number } = {}) {
  const store = await DuckDbStatsStore.open({ directory, memoryLimitMb: 128 });
  const buffer = await StatsBuffer.open({
    store,
    walDirectory: join(directory, 'wal'),
    flushIntervalMs: 0,
    retentionDays: 30,
    now: () => clock,
    ...options,
  });
  open.push(buffer);
  return {
    buffer,
    /** A `kill -9` as far as the files go: the store closes without loading what waits. */
    async crash() {
      open.splice(open.indexOf(buffer), 1);
      await store.close();
    },
  };
}

function rows(installation: string, count: number, extra: Partial<TelemetryEvent> = {}): Buffer {
  const event: TelemetryEvent = {
    ts: '2026-11-23 10:00:00.000',
    installation,
    type: 'detection',
    sha256: null,
    md5: null,
    verdict: 'malicious',
    threat: 'Trojan.A',
    product: null,
    os: null,
    ...extra,
  };
  return Buffer.from(encodeEventRow(event, 'BR').repeat(count));
}

async function total(buffer: StatsBuffer): Promise<number> {
  const groups = await buffer.aggregate({ groupBy: [] });
  return groups[0]?.events ?? 0;
}

function walBytes(): Buffer {
  const wal = join(directory, 'wal');
  return Buffer.concat(readdirSync(wal).map((name) => readFileSync(join(wal, name))));
}

describe('StatsBuffer', () => {
  describe('when events are appended and flushed', () => {
    it('aggregates them with distinct installation counts', async () => {
      const { buffer } = await openBuffer();
      const [a, b] = [randomUUID(), randomUUID()];
      await Promise.all([buffer.append(rows(a, 3)), buffer.append(rows(b, 2, { threat: 'Worm.B' }))]);
      expect(await total(buffer)).toBe(0);
      await buffer.flush();
      const groups = await buffer.aggregate({ groupBy: ['day', 'country', 'threat'] });
      expect(groups.sort((x, y) => String(x.key[2]).localeCompare(String(y.key[2])))).toEqual([
        { key: ['2026-11-23', 'BR', 'Trojan.A'], events: 3, installations: 1 },
        { key: ['2026-11-23', 'BR', 'Worm.B'], events: 2, installations: 1 },
      ]);
    });
  });

  describe('when it is reopened after a crash', () => {
    it('replays what was acknowledged and not loaded, exactly once', async () => {
      const first = await openBuffer();
      await first.buffer.append(rows(randomUUID(), 5));
      await first.buffer.flush();
      await first.buffer.append(rows(randomUUID(), 7));
      await first.crash();
      const second = await openBuffer();
      expect(await total(second.buffer)).toBe(12);
      await second.crash();
      const third = await openBuffer();
      expect(await total(third.buffer)).toBe(12);
    });

    it('loads in several batches when much is waiting', async () => {
      const first = await openBuffer({ flushBytes: 1000 });
      for (let i = 0; i < 20; i += 1) await first.buffer.append(rows(randomUUID(), 10));
      await first.crash();
      const second = await openBuffer({ flushBytes: 1000 });
      expect(await total(second.buffer)).toBe(200);
    });
  });

  describe('when an installation is erased', () => {
    it('deletes its events from the store and the write-ahead log, also after a restart', async () => {
      const first = await openBuffer();
      const [erased, kept] = [randomUUID(), randomUUID()];
      await first.buffer.append(rows(erased, 4));
      await first.buffer.flush();
      await first.buffer.append(Buffer.concat([rows(erased, 3), rows(kept, 2)]));
      expect(walBytes().includes(erased)).toBe(true);
      expect(await first.buffer.eraseInstallation(erased)).toBe(7);
      expect(await total(first.buffer)).toBe(2);
      expect(walBytes().includes(erased)).toBe(false);
      await first.crash();
      const second = await openBuffer();
      expect(await total(second.buffer)).toBe(2);
    });
  });

  describe('when events pass the retention period', () => {
    it('deletes them and keeps the younger ones', async () => {
      const { buffer } = await openBuffer();
      await buffer.append(rows(randomUUID(), 3, { ts: '2026-10-01 00:00:00.000' }));
      await buffer.append(rows(randomUUID(), 2, { ts: '2026-11-20 00:00:00.000' }));
      await buffer.flush();
      expect(await buffer.applyRetention()).toBe(3);
      expect(await total(buffer)).toBe(2);
      clock = new Date('2027-01-01T00:00:00Z');
      expect(await buffer.applyRetention()).toBe(2);
      expect(await total(buffer)).toBe(0);
    });
  });
});
