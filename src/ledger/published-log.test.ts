import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsTileStore } from '../adapters/storage/fs/fs-tile-store.js';
import { SqliteLogJournal } from '../adapters/storage/sqlite/sqlite-log-journal.js';
import { canonicalJson, noteSignerFromKey } from './note/index.js';
import { publishedLogFrom } from './published-log.js';
import { TransparencyLog } from './transparency-log.js';

const ORIGIN = 'glasshouse-test/zurich';
// Past one full tile (256) and one level-1 tile's worth of structure, with a partial right edge.
const SIZE = 600;
let dir: string;
let log: TransparencyLog;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'glasshouse-published-log-'));
  log = await TransparencyLog.open({
    origin: ORIGIN,
    journal: new SqliteLogJournal(join(dir, 'journal.db')),
    tiles: new FsTileStore(join(dir, 'public')),
    signer: noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, ORIGIN),
    checkpointIntervalMs: 0,
    publish: true,
  });
  for (let i = 0; i < SIZE; i += 1) {
    await log.appendBytes(Buffer.from(canonicalJson({ type: 'test', time: '2026-11-23T00:00:00Z', i })));
  }
  await log.publish();
});

afterAll(async () => {
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('publishedLogFrom', () => {
  // What a remote site's client gives: the published files, nothing of the journal.
  const remote = () =>
    publishedLogFrom({
      checkpoint: () => log.checkpoint(),
      readPublished: (path) => log.readPublished(path),
    });
  const base64 = (hashes: readonly Buffer[]) => hashes.map((h) => h.toString('base64'));

  describe('when proofs are asked at published tree sizes', () => {
    it('computes from the tiles the same proofs the log computes from its journal', async () => {
      for (const [index, size] of [
        [0, 1],
        [5, 17],
        [255, 256],
        [256, 600],
        [599, 600],
        [300, 511],
      ] as const) {
        expect(base64(await remote().proveInclusion(index, size))).toEqual(
          base64(await log.proveInclusion(index, size)),
        );
      }
      for (const [from, to] of [
        [1, 600],
        [256, 600],
        [300, 513],
        [17, 17],
      ] as const) {
        expect(base64(await remote().proveConsistency(from, to))).toEqual(
          base64(await log.proveConsistency(from, to)),
        );
      }
    });
  });

  describe('when a size is beyond the checkpoint or an index beyond the size', () => {
    it('refuses with INVALID_PROOF_REQUEST', async () => {
      await expect(remote().proveInclusion(0, SIZE + 1)).rejects.toMatchObject({
        code: 'INVALID_PROOF_REQUEST',
      });
      await expect(remote().proveInclusion(17, 17)).rejects.toMatchObject({ code: 'INVALID_PROOF_REQUEST' });
      await expect(remote().proveConsistency(0, 5)).rejects.toMatchObject({ code: 'INVALID_PROOF_REQUEST' });
    });
  });
});
