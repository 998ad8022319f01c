import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { httpLogWitness } from '../src/adapters/http-witness/http-log-witness.js';
import { FsTileStore } from '../src/adapters/storage/fs/fs-tile-store.js';
import { SqliteLogJournal } from '../src/adapters/storage/sqlite/sqlite-log-journal.js';
import { SqliteWitnessStore } from '../src/adapters/storage/sqlite/sqlite-witness-store.js';
import type { LedgerError } from '../src/ledger/ledger-errors.js';
import {
  cosignerFromKey,
  noteSignerFromKey,
  openCheckpoint,
  openCosignatures,
  parseCosignerVerifierKey,
} from '../src/ledger/note/index.js';
import { TransparencyLog } from '../src/ledger/transparency-log.js';
import { type LogWitness, Witnessing } from '../src/ledger/witnessing.js';
import { buildWitnessApp } from '../src/witness/witness-app.js';
import { WitnessService } from '../src/witness/witness-service.js';

const ORIGIN = 'glasshouse-test/control';
const signer = noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, ORIGIN);
const cleanup: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function newDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'glasshouse-witnessing-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A real witness (SQLite state, HTTP on 127.0.0.1) following the log. */
async function startWitness(name: string, dir = newDir()) {
  const cosigner = cosignerFromKey(generateKeyPairSync('ed25519').privateKey, name);
  const store = new SqliteWitnessStore(join(dir, 'witness.db'));
  const service = new WitnessService({ store, cosigner, now: () => 1_700_000_000_000 });
  service.addLog(signer.verifierKey);
  const app: FastifyInstance = await buildWitnessApp({ witness: service, logLevel: 'silent' });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  cleanup.push(async () => {
    await app.close();
    store.close();
  });
  return { name, key: cosigner.verifierKey, url, store };
}

/** A witness that accepts the connection and never answers. */
async function startSilentWitness(name: string) {
  const server: Server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const key = cosignerFromKey(generateKeyPairSync('ed25519').privateKey, name).verifierKey;
  return { name, key, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** The published files on disk, telling each checkpoint it writes to `written`. */
class WatchedTileStore extends FsTileStore {
  readonly written: string[] = [];
  #waiters: { until: (checkpoint: string) => boolean; resolve: (checkpoint: string) => void }[] = [];

  override async put(path: string, data: Uint8Array): Promise<void> {
    await super.put(path, data);
    if (path !== 'checkpoint') return;
    const checkpoint = Buffer.from(data).toString('utf8');
    this.written.push(checkpoint);
    const met = this.#waiters.filter((w) => w.until(checkpoint));
    this.#waiters = this.#waiters.filter((w) => !met.includes(w));
    for (const waiter of met) waiter.resolve(checkpoint);
  }

  /** The first checkpoint written from now on that satisfies `until`. */
  nextCheckpoint(until: (checkpoint: string) => boolean): Promise<string> {
    return new Promise((resolve) => this.#waiters.push({ until, resolve }));
  }
}

/** A real witness whose requests wait at a gate until the test opens it. */
function gated(witness: LogWitness) {
  let open: () => void = () => undefined;
  let gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    witness: {
      ...witness,
      async addCheckpoint(body: string, signal: AbortSignal) {
        await gate;
        return witness.addCheckpoint(body, signal);
      },
    } satisfies LogWitness,
    open: () => open(),
    close: () => {
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
    },
  };
}

async function openLog(
  dir: string,
  witnesses: readonly ({ name: string; key: string; url: string } | LogWitness)[],
  errors: unknown[] = [],
  options: { timeoutMs?: number; tiles?: FsTileStore } = {},
) {
  const log = await TransparencyLog.open({
    origin: ORIGIN,
    journal: new SqliteLogJournal(join(dir, 'journal.db')),
    tiles: options.tiles ?? new FsTileStore(join(dir, 'public')),
    signer,
    checkpointIntervalMs: 0,
    publish: true,
    witnessing: new Witnessing({
      witnesses: witnesses.map((w) => ('url' in w ? httpLogWitness(w) : w)),
      // Generous, so that a loaded machine does not drop a cosignature the test expects.
      timeoutMs: options.timeoutMs ?? 10_000,
      onWitnessError: (error) => errors.push(error),
    }),
  });
  cleanup.push(() => log.close().catch(() => undefined));
  return log;
}

const sizeOf = (checkpoint: string) => openCheckpoint(checkpoint, [signer]).treeSize;

async function appendAndPublish(log: TransparencyLog, count: number) {
  await Promise.all(Array.from({ length: count }, (_, i) => log.appendBytes(Buffer.from(`entry ${i}`))));
  await log.publish();
  return (await log.checkpoint())!;
}

describe('a log with witnesses', () => {
  describe('when its witnesses answer', () => {
    it('publishes each checkpoint with their cosignatures, still a checkpoint of its own key', async () => {
      const w1 = await startWitness('witness.test/w1');
      const w2 = await startWitness('witness.test/w2');
      const keys = [w1, w2].map((w) => parseCosignerVerifierKey(w.key));
      const errors: unknown[] = [];
      const log = await openLog(newDir(), [w1, w2], errors);
      for (const count of [3, 10, 300]) {
        const checkpoint = await appendAndPublish(log, count);
        expect(openCosignatures(checkpoint, keys).map((c) => c.name)).toEqual([
          'witness.test/w1',
          'witness.test/w2',
        ]);
        expect(openCheckpoint(checkpoint, [signer]).treeSize).toBe(await log.size());
      }
      expect(errors).toEqual([]);
      expect(w1.store.log(ORIGIN)?.latest.size).toBe(313);
    });
  });

  describe('when a witness answers only after the tiles are written', () => {
    it('publishes the checkpoint with the cosignatures it has, then again with the late one', async () => {
      const fast = await startWitness('witness.test/fast');
      const slow = gated(httpLogWitness(await startWitness('witness.test/slow')));
      const keys = [fast, slow.witness].map((w) => ('url' in w ? parseCosignerVerifierKey(w.key) : w.key));
      const dir = newDir();
      const tiles = new WatchedTileStore(join(dir, 'public'));
      slow.open();
      const log = await openLog(dir, [fast, slow.witness], [], { tiles });
      slow.close();
      await Promise.all([1, 2, 3].map((i) => log.appendBytes(Buffer.from(`entry ${i}`))));
      const first = tiles.nextCheckpoint((c) => sizeOf(c) === 3);
      const published = log.publish();
      const names = (checkpoint: string) => openCosignatures(checkpoint, keys).map((c) => c.name);
      expect(names(await first)).toEqual(['witness.test/fast']);
      slow.open();
      await published;
      const checkpoint = (await log.checkpoint())!;
      expect(sizeOf(checkpoint)).toBe(3);
      expect(names(checkpoint)).toEqual(['witness.test/fast', 'witness.test/slow']);
    });
  });

  describe('when a late cosignature arrives after a newer checkpoint is out', () => {
    it('leaves the newer checkpoint in place, and the witness cosigns the newer one next', async () => {
      const slowProcess = await startWitness('witness.test/slow');
      const slow = gated(httpLogWitness(slowProcess));
      const dir = newDir();
      const tiles = new WatchedTileStore(join(dir, 'public'));
      const errors: unknown[] = [];
      slow.open();
      const log = await openLog(dir, [slow.witness], errors, { tiles });
      slow.close();
      await log.appendBytes(Buffer.from('entry 1'));
      const first = tiles.nextCheckpoint((c) => sizeOf(c) === 1);
      const publishedFirst = log.publish();
      await first;
      await log.appendBytes(Buffer.from('entry 2'));
      const second = tiles.nextCheckpoint((c) => sizeOf(c) === 2);
      const publishedSecond = log.publish();
      await second;
      slow.open();
      await Promise.all([publishedFirst, publishedSecond]);
      const checkpoint = (await log.checkpoint())!;
      expect(sizeOf(checkpoint)).toBe(2);
      expect(openCosignatures(checkpoint, [slow.witness.key])).toHaveLength(1);
      // The checkpoint file never went back to size 1 once size 2 was out.
      const sizes = tiles.written.map(sizeOf);
      expect(sizes.slice(sizes.indexOf(2))).toEqual(sizes.slice(sizes.indexOf(2)).map(() => 2));
      expect(errors).toEqual([]);
      expect(slowProcess.store.log(ORIGIN)?.latest.size).toBe(2);
    });
  });

  describe('when one witness is down and one never answers', () => {
    it('publishes within the timeout with the cosignature of the one that answered, and says why the others did not', async () => {
      const up = await startWitness('witness.test/up');
      const silent = await startSilentWitness('witness.test/silent');
      const down = { ...(await startSilentWitness('witness.test/down')), url: 'http://127.0.0.1:9' };
      const errors: unknown[] = [];
      const log = await openLog(newDir(), [up, silent, down], errors, { timeoutMs: 300 });
      const started = Date.now();
      const checkpoint = await appendAndPublish(log, 5);
      expect(Date.now() - started).toBeLessThan(2_000);
      const keys = [up, silent, down].map((w) => parseCosignerVerifierKey(w.key));
      expect(openCosignatures(checkpoint, keys).map((c) => c.name)).toEqual(['witness.test/up']);
      const failed = errors.map((e) => (e as LedgerError).details?.witness);
      expect(new Set(failed)).toEqual(new Set(['witness.test/silent', 'witness.test/down']));
    });
  });

  describe('when the log restarts and has forgotten what its witness cosigned', () => {
    it('learns the size from the 409 and sends a consistency proof from it', async () => {
      const dir = newDir();
      const witness = await startWitness('witness.test/w1');
      const key = parseCosignerVerifierKey(witness.key);
      const first = await openLog(dir, [witness]);
      await appendAndPublish(first, 7);
      await first.close();
      const errors: unknown[] = [];
      const again = await openLog(dir, [witness], errors);
      const checkpoint = await appendAndPublish(again, 5);
      expect(errors).toEqual([]);
      expect(openCosignatures(checkpoint, [key])).toHaveLength(1);
      expect(witness.store.log(ORIGIN)?.latest.size).toBe(12);
    });
  });
});
