import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { thrownCode } from '../../test/support/thrown-code.js';
import { SqliteWitnessStore } from '../adapters/storage/sqlite/sqlite-witness-store.js';
import { EMPTY_TREE_HASH } from '../ledger/merkle/index.js';
import {
  cosignerFromKey,
  formatCheckpoint,
  noteSignerFromKey,
  openCosignatures,
} from '../ledger/note/index.js';
import { formatAddCheckpointRequest } from '../ledger/witnessing.js';
import { WitnessError } from './witness-errors.js';
import { WitnessService } from './witness-service.js';

const log = noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, 'example.com/log');
const cosigner = cosignerFromKey(generateKeyPairSync('ed25519').privateKey, 'witness.example/w1');
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const step of cleanup.splice(0)) step();
});

function newWitness(): WitnessService {
  const dir = mkdtempSync(join(tmpdir(), 'glasshouse-witness-service-'));
  const store = new SqliteWitnessStore(join(dir, 'witness.db'));
  cleanup.push(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const witness = new WitnessService({ store, cosigner, now: () => 1_700_000_000_999 });
  witness.addLog(log.verifierKey);
  return witness;
}

const checkpoint = (treeSize: number, rootHash: Buffer) =>
  log.sign(formatCheckpoint({ origin: log.name, treeSize, rootHash }));

describe('WitnessService', () => {
  describe('when a log it follows sends its empty tree', () => {
    it('cosigns it with the time in seconds', () => {
      const signed = checkpoint(0, EMPTY_TREE_HASH);
      const lines = newWitness().addCheckpoint(
        formatAddCheckpointRequest({ oldSize: 0, proof: [], checkpoint: signed }),
      );
      expect(openCosignatures(`${signed}${lines}`, [cosigner])).toEqual([
        { name: cosigner.name, keyId: cosigner.keyId, timestamp: 1_700_000_000 },
      ]);
    });
  });

  describe('when the checkpoint cannot be right', () => {
    it.each([
      [
        'a size-0 checkpoint with another root',
        0,
        checkpoint(0, Buffer.alloc(32, 9)),
        'WITNESS_ROOT_MISMATCH',
      ],
      ['an old size above the checkpoint size', 4, checkpoint(3, Buffer.alloc(32, 9)), 'WITNESS_BAD_REQUEST'],
      [
        'a first checkpoint sent with a proof',
        0,
        checkpoint(3, Buffer.alloc(32, 9)),
        'WITNESS_INVALID_PROOF',
      ],
    ])('refuses %s', (_, oldSize, signed, code) => {
      const proof = code === 'WITNESS_INVALID_PROOF' ? [Buffer.alloc(32)] : [];
      const body = formatAddCheckpointRequest({ oldSize, proof, checkpoint: signed });
      expect(thrownCode(() => newWitness().addCheckpoint(body), WitnessError)).toBe(code);
    });
  });

  describe('when the log is added twice', () => {
    it('refuses the second time', () => {
      const witness = newWitness();
      expect(thrownCode(() => witness.addLog(log.verifierKey), WitnessError)).toBe('WITNESS_LOG_EXISTS');
    });
  });

  describe('when the log rotated its key and the witness is given the new key too', () => {
    const next = noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, log.name);
    const body = formatAddCheckpointRequest({
      oldSize: 0,
      proof: [],
      checkpoint: next.sign(formatCheckpoint({ origin: log.name, treeSize: 0, rootHash: EMPTY_TREE_HASH })),
    });

    it('refuses a checkpoint of the new key alone before, and cosigns it after, keeping both keys', () => {
      const witness = newWitness();
      expect(thrownCode(() => witness.addCheckpoint(body), WitnessError)).toBe(
        'WITNESS_UNTRUSTED_CHECKPOINT',
      );
      expect(witness.addLog(next.verifierKey).verifierKeys).toEqual([log.verifierKey, next.verifierKey]);
      expect(witness.addCheckpoint(body)).toContain(cosigner.name);
      expect(thrownCode(() => witness.addLog(next.verifierKey), WitnessError)).toBe('WITNESS_LOG_EXISTS');
    });
  });
});
