import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventWal, scanFrames, type WalRecord } from './event-wal.js';

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'glasshouse-wal-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

async function openWal(durable: WalRecord[] = [], segmentBytes?: number) {
  return EventWal.open({
    directory,
    nextSeq: 1,
    onDurable: (records) => durable.push(...records),
    ...(segmentBytes === undefined ? {} : { segmentBytes }),
  });
}

async function replayed(wal: EventWal, after = 0): Promise<string[]> {
  const out: string[] = [];
  for await (const record of wal.replay(after)) out.push(`${record.seq}:${record.payload.toString()}`);
  return out;
}

describe('EventWal', () => {
  describe('when many appends arrive at once', () => {
    it('numbers them in order, writes them in one group and reports them durable in order', async () => {
      const durable: WalRecord[] = [];
      const wal = await openWal(durable);
      const seqs = await Promise.all(Array.from({ length: 100 }, (_, i) => wal.append(Buffer.from(`r${i}`))));
      expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(durable.map((r) => r.seq)).toEqual(seqs);
      // One group commit for the first append, one for the 99 queued behind it.
      expect(wal.files()).toHaveLength(1);
      await wal.close();
    });
  });

  describe('when it is reopened', () => {
    it('replays the records after a sequence number and continues the numbering', async () => {
      const wal = await openWal();
      for (const text of ['a', 'b', 'c']) await wal.append(Buffer.from(text));
      await wal.close();
      const again = await openWal();
      expect(await replayed(again, 1)).toEqual(['2:b', '3:c']);
      expect(await again.append(Buffer.from('d'))).toBe(4);
      await again.close();
    });

    it('cuts off a torn tail and reuses its sequence number', async () => {
      const wal = await openWal();
      await wal.append(Buffer.from('kept'));
      await wal.close();
      const [file] = readdirSync(directory);
      // A crash mid-write: a header that promises more bytes than follow.
      appendFileSync(
        join(directory, file!),
        Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 2, 0, 0, 0, 0, 0, 0, 0, 65]),
      );
      const again = await openWal();
      expect(await replayed(again)).toEqual(['1:kept']);
      expect(scanFrames(readFileSync(join(directory, file!))).torn).toBe(false);
      expect(await again.append(Buffer.from('next'))).toBe(2);
      await again.close();
    });

    it('detects a flipped bit by its CRC', async () => {
      const wal = await openWal();
      await wal.append(Buffer.from('one'));
      await wal.append(Buffer.from('two'));
      await wal.close();
      const file = join(directory, readdirSync(directory)[0]!);
      const bytes = readFileSync(file);
      bytes[bytes.length - 1] = bytes.at(-1)! ^ 1;
      expect(scanFrames(bytes)).toMatchObject({ torn: true, records: [{ seq: 1 }] });
    });
  });

  describe('when segments are loaded', () => {
    it('rotates past the segment size and drops only closed segments that are fully loaded', async () => {
      const wal = await openWal([], 10);
      for (const text of ['aaaaaaaaaaaa', 'bbbbbbbbbbbb', 'cccccccccccc'])
        await wal.append(Buffer.from(text));
      expect(wal.files()).toHaveLength(3);
      await wal.dropThrough(2);
      expect(wal.files()).toHaveLength(1);
      await wal.dropThrough(3);
      expect(wal.files()).toHaveLength(1); // the active segment stays until rotated
      await wal.rotate();
      await wal.dropThrough(3);
      expect(readdirSync(directory)).toEqual([]);
      expect(await wal.append(Buffer.from('d'))).toBe(4);
      await wal.close();
    });
  });
});
