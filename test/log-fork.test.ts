import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpLogWitness } from '../src/adapters/http-witness/http-log-witness.js';
import { FsTileStore } from '../src/adapters/storage/fs/fs-tile-store.js';
import { SqliteLogJournal } from '../src/adapters/storage/sqlite/sqlite-log-journal.js';
import { SqliteWitnessStore } from '../src/adapters/storage/sqlite/sqlite-witness-store.js';
import type { LedgerError } from '../src/ledger/ledger-errors.js';
import { proveConsistency } from '../src/ledger/merkle/index.js';
import {
  cosignerFromKey,
  noteSignerFromKey,
  openCosignatures,
  parseCheckpoint,
  parseCosignerVerifierKey,
} from '../src/ledger/note/index.js';
import { TransparencyLog } from '../src/ledger/transparency-log.js';
import { formatAddCheckpointRequest, Witnessing } from '../src/ledger/witnessing.js';
import { buildWitnessApp } from '../src/witness/witness-app.js';
import { WitnessService } from '../src/witness/witness-service.js';
import { runCliAsync } from './support/cli.js';

/**
 * An operator who rewrites history: the same origin and key, one entry changed at an old
 * index, published as a log that extends "its" older checkpoints. A witness that saw the
 * honest log refuses it, and an auditor holding an old checkpoint is told of the fork with
 * both roots.
 */
const ORIGIN = 'glasshouse-test/control';
const signer = noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, ORIGIN);
const FORKED_INDEX = 5;
const cleanup: (() => Promise<void> | void)[] = [];
const dir = mkdtempSync(join(tmpdir(), 'glasshouse-fork-'));
cleanup.push(() => rmSync(dir, { recursive: true, force: true }));

const entry = (i: number) => Buffer.from(`{"i":${i},"type":"sample.download"}`);
const forgedEntry = Buffer.from('{"i":5,"type":"nothing.happened"}');

async function openLog(name: string, witnessing?: Witnessing) {
  const tiles = new FsTileStore(join(dir, name, 'public'));
  const log = await TransparencyLog.open({
    origin: ORIGIN,
    journal: new SqliteLogJournal(join(dir, name, 'journal.db')),
    tiles,
    signer,
    checkpointIntervalMs: 0,
    publish: true,
    ...(witnessing === undefined ? {} : { witnessing }),
  });
  cleanup.push(() => log.close().catch(() => undefined));
  return { log, tiles };
}

async function appendAndPublish(log: TransparencyLog, entries: readonly Buffer[]) {
  for (const bytes of entries) await log.appendBytes(bytes);
  await log.publish();
  return (await log.checkpoint())!;
}

/** The published files of a log under `/log/control/`, as a server serves them. */
async function serveLog(tiles: FsTileStore): Promise<string> {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(request.url!.replace(/^\/log\/control\//, ''));
    void tiles.get(path).then((data) => {
      response.statusCode = data === undefined ? 404 : 200;
      response.end(data);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function rootOf(checkpoint: string): string {
  return Buffer.from(parseCheckpoint(checkpoint.slice(0, checkpoint.indexOf('\n\n') + 1)).rootHash).toString(
    'base64',
  );
}

describe('a forked log (same origin and key, another entry at an old index)', () => {
  let witnessUrl: string;
  const witnessErrors: unknown[] = [];
  const honestEntries = Array.from({ length: 12 }, (_, i) => entry(i));
  const forkedEntries = honestEntries.map((bytes, i) => (i === FORKED_INDEX ? forgedEntry : bytes));
  let witnessKey: string;
  let oldCheckpointFile: string;
  let oldHonest: string;
  let honestUrl: string;
  let forked: Awaited<ReturnType<typeof openLog>>;
  let forkedAt10: string;
  let forkedAt12: string;

  beforeAll(async () => {
    const cosigner = cosignerFromKey(generateKeyPairSync('ed25519').privateKey, 'witness.test/w1');
    const store = new SqliteWitnessStore(join(dir, 'witness.db'));
    const service = new WitnessService({ store, cosigner });
    service.addLog(signer.verifierKey);
    const app = await buildWitnessApp({ witness: service, logLevel: 'silent' });
    witnessUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    cleanup.push(async () => {
      await app.close();
      store.close();
    });
    witnessKey = cosigner.verifierKey;
    const witnessing = () =>
      new Witnessing({
        witnesses: [httpLogWitness({ name: 'witness.test/w1', key: witnessKey, url: witnessUrl })],
        timeoutMs: 5_000,
        onWitnessError: (error) => witnessErrors.push(error),
      });

    // The honest log, watched by the witness: an auditor saves its checkpoint at size 10.
    const honest = await openLog('honest', witnessing());
    oldHonest = await appendAndPublish(honest.log, honestEntries.slice(0, 10));
    expect(openCosignatures(oldHonest, [parseCosignerVerifierKey(witnessKey)])).toHaveLength(1);
    oldCheckpointFile = join(dir, 'old-checkpoint');
    writeFileSync(oldCheckpointFile, oldHonest);
    honestUrl = await serveLog(honest.tiles);

    // The fork, built by the log's own code with the same key; it asks the same witness.
    forked = await openLog('forked', witnessing());
    forkedAt10 = await appendAndPublish(forked.log, forkedEntries.slice(0, 10));
    forkedAt12 = await appendAndPublish(forked.log, forkedEntries.slice(10));
  });

  afterAll(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('is a log of its own: well signed, another root at size 10', () => {
    expect(parseCheckpoint(forkedAt10.slice(0, forkedAt10.indexOf('\n\n') + 1)).treeSize).toBe(10);
    expect(rootOf(forkedAt10)).not.toBe(rootOf(oldHonest));
  });

  describe('when the forked log asks the witness that saw the honest one', () => {
    it('publishes without the witness’s cosignature, told the witness refused', () => {
      const key = parseCosignerVerifierKey(witnessKey);
      expect(openCosignatures(forkedAt10, [key])).toEqual([]);
      expect(openCosignatures(forkedAt12, [key])).toEqual([]);
      // The honest log never failed; the forked one at its opening (size 0), at 10 and at 12.
      expect(witnessErrors.map((e) => (e as LedgerError).code)).toEqual(Array(3).fill('WITNESS_FAILED'));
    });
  });

  describe('when the forked checkpoint is posted to the witness (C2SP tlog-witness)', () => {
    const post = async (body: string) => {
      const response = await fetch(`${witnessUrl}/add-checkpoint`, { method: 'POST', body });
      return { status: response.status, body: await response.text() };
    };

    it('answers 409 to another root at the size it cosigned', async () => {
      const reply = await post(
        formatAddCheckpointRequest({ oldSize: 10, proof: [], checkpoint: forkedAt10 }),
      );
      expect(reply.status).toBe(409);
      expect(reply.body).toContain('WITNESS_ROOT_MISMATCH');
    });

    it('answers 422 to a larger forked checkpoint whose consistency proof cannot reach its record', async () => {
      const proof = await forked.log.proveConsistency(10, 12);
      const reply = await post(formatAddCheckpointRequest({ oldSize: 10, proof, checkpoint: forkedAt12 }));
      expect(reply.status).toBe(422);
      expect(reply.body).toContain('WITNESS_INVALID_PROOF');
    });

    it('answers 422 too when the forger proves from a tree it made up at the old size', async () => {
      // Any proof: the witness checks it against the root it recorded, not one the log gives.
      const proof = await proveConsistency(10, 12, async (indexes) => indexes.map(() => Buffer.alloc(32, 7)));
      const reply = await post(formatAddCheckpointRequest({ oldSize: 10, proof, checkpoint: forkedAt12 }));
      expect(reply.status).toBe(422);
    });
  });

  describe('ledger verify --from-checkpoint with the checkpoint saved from the honest log', () => {
    const verify = (url: string, ...extra: string[]) =>
      runCliAsync([
        'ledger',
        'verify',
        '--url',
        url,
        '--key',
        signer.verifierKey,
        '--from-checkpoint',
        oldCheckpointFile,
        ...extra,
      ]);

    it('passes against the honest log, which extends it', async () => {
      const result = await verify(honestUrl);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain(`extends the older checkpoint of 10 entries (${rootOf(oldHonest)})`);
    });

    it('reports the fork with both roots and exits non-zero against the forked log', async () => {
      const result = await verify(await serveLog(forked.tiles));
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`${ORIGIN} forked`);
      expect(result.stderr).toContain(`the older checkpoint has root ${rootOf(oldHonest)} at size 10`);
      expect(result.stderr).toContain(`gives root ${rootOf(forkedAt10)} at size 10`);
      expect(result.stderr).toContain('[LOG_FORKED]');
    });
  });
});
