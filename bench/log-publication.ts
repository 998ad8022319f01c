/**
 * Checkpoint publication with witnesses, part of `bench -- log`: the log appends at a steady
 * 10,000 entries/s and publishes a checkpoint every second, once without witnesses and once
 * asking 3 real witness processes (`glasshouse witness`, from dist/) over HTTP on loopback,
 * in the same run, alternating which goes first. Each publication is timed from its start to
 * the checkpoint first written (tiles and signature, with the cosignatures arrived by then),
 * and, with witnesses, to the checkpoint written carrying all of their cosignatures.
 *
 * Goal (from the issue): witnesses add at most 20 ms to the median publication.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { httpLogWitness } from '../src/adapters/http-witness/http-log-witness.js';
import { FsTileStore } from '../src/adapters/storage/fs/fs-tile-store.js';
import { SqliteLogJournal } from '../src/adapters/storage/sqlite/sqlite-log-journal.js';
import { SqliteWitnessStore } from '../src/adapters/storage/sqlite/sqlite-witness-store.js';
import { noteSignerFromKey, openCosignatures, parseCosignerVerifierKey } from '../src/ledger/note/index.js';
import { TransparencyLog } from '../src/ledger/transparency-log.js';
import { type LogWitness, Witnessing } from '../src/ledger/witnessing.js';
import { WITNESS_DATABASE, witnessCosigner } from '../src/witness/witness-data-dir.js';
import { WitnessService } from '../src/witness/witness-service.js';
import { onCleanup, tempDir } from './support/cleanup.js';

const ORIGIN = 'glasshouse-bench/publication';
export const PUBLICATION_RATE = 10_000;
export const WITNESSES = 3;
export const ADDED_MS_GOAL = 20;
const PUBLISH_INTERVAL_MS = 1000;
/** Appends are issued in slices every few milliseconds, like requests arriving. */
const SLICE_MS = 10;
const ENTRY_SIZE = 200;
const BIN = new URL('../bin/glasshouse.js', import.meta.url).pathname;

export interface PublicationRound {
  readonly witnesses: number;
  /** Each publication's time to its checkpoint first written (ms), the first (warm-up) excluded. */
  readonly publishMs: readonly number[];
  /** Each publication's time to its checkpoint written with every witness's cosignature (ms). */
  readonly cosignedMs: readonly number[];
  /** Publications whose first written checkpoint already carried every cosignature. */
  readonly cosignedAtFirst: number;
  /** Each add-checkpoint round trip to a witness (ms), the first publication's excluded. */
  readonly roundTripMs: readonly number[];
  /** The append rate achieved (entries/s). */
  readonly appendsPerSecond: number;
  /** Publications whose checkpoint carried every witness's cosignature. */
  readonly fullyCosigned: number;
}

interface RunningWitness {
  readonly name: string;
  readonly key: string;
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts `count` witness processes following a log of `verifierKey`, each with its own data
 * directory set up as `witness key` and `witness add-log` would.
 */
export async function startWitnesses(verifierKey: string, count: number): Promise<RunningWitness[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const dir = tempDir(`glasshouse-bench-witness-${i}`);
      const name = `bench.witness/w${i + 1}`;
      const cosigner = witnessCosigner(dir.path, { name });
      const store = new SqliteWitnessStore(join(dir.path, WITNESS_DATABASE));
      new WitnessService({ store, cosigner }).addLog(verifierKey);
      store.close();
      const child = spawn(
        process.execPath,
        [BIN, 'witness', '--data', dir.path, '--port', '0', '--log-level', 'warn'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const release = onCleanup(() => stop(child));
      const url = await listeningUrl(child);
      return {
        name,
        key: cosigner.verifierKey,
        url,
        async stop() {
          release();
          await stop(child);
          await dir.remove();
        },
      };
    }),
  );
}

function listeningUrl(child: ChildProcess): Promise<string> {
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const url = /listening on (\S+)/.exec(output)?.[1];
      if (url !== undefined) resolve(url);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('exit', () => reject(new Error(`a witness exited (is dist/ built?):\n${output}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** One round: a fresh log, appends at the rate for `seconds`, a publication every second. */
export async function publicationRound(witnessCount: number, seconds: number): Promise<PublicationRound> {
  const scratch = tempDir('glasshouse-bench-publication');
  const signer = noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, ORIGIN);
  const witnesses = witnessCount === 0 ? [] : await startWitnesses(signer.verifierKey, witnessCount);
  const keys = witnesses.map((w) => parseCosignerVerifierKey(w.key));
  const roundTripMs: number[] = [];
  const tiles = new TimedTileStore(join(scratch.path, 'public'));
  const log = await TransparencyLog.open({
    origin: ORIGIN,
    journal: new SqliteLogJournal(join(scratch.path, 'journal.db')),
    tiles,
    signer,
    // Publication is driven below, so that each one is timed alone.
    checkpointIntervalMs: 0,
    publish: true,
    ...(witnesses.length === 0
      ? {}
      : {
          witnessing: new Witnessing({
            witnesses: witnesses.map((config) => timed(httpLogWitness(config), roundTripMs)),
            timeoutMs: 1000,
            onWitnessError: (error) => process.stderr.write(`log: witness: ${String(error)}\n`),
          }),
        }),
  });
  const publishMs: number[] = [];
  const cosignedMs: number[] = [];
  let cosignedAtFirst = 0;
  let fullyCosigned = 0;
  let appended = 0;
  const pending = new Set<Promise<number>>();
  const started = performance.now();
  const perSlice = (PUBLICATION_RATE * SLICE_MS) / 1000;
  const entries = Array.from({ length: 4096 }, () =>
    Buffer.from(randomBytes(ENTRY_SIZE / 2).toString('hex')),
  );
  const appender = setInterval(() => {
    // Catch up to the rate, whatever the timer's lateness.
    const due = Math.floor(((performance.now() - started) / 1000) * PUBLICATION_RATE);
    for (let n = Math.min(due - appended, perSlice * 10); n > 0; n--) {
      const promise = log.appendBytes(entries[appended % entries.length]!);
      pending.add(promise);
      void promise.finally(() => pending.delete(promise));
      appended++;
    }
  }, SLICE_MS);
  try {
    const publications = Math.max(2, Math.round((seconds * 1000) / PUBLISH_INTERVAL_MS));
    for (let i = 0; i < publications; i++) {
      await new Promise((resolve) => setTimeout(resolve, PUBLISH_INTERVAL_MS));
      const start = performance.now();
      tiles.writes.length = 0;
      await log.publish();
      const writes = tiles.writes.filter((w) => w.at >= start);
      const first = writes[0];
      const full = writes.find((w) => openCosignatures(w.checkpoint, keys).length === keys.length);
      if (i > 0 && first !== undefined) {
        publishMs.push(first.at - start);
        if (full !== undefined) cosignedMs.push(full.at - start);
        if (full === first) cosignedAtFirst++;
        if (full !== undefined && keys.length > 0) fullyCosigned++;
      }
    }
  } finally {
    clearInterval(appender);
  }
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all(pending);
  await log.close();
  await Promise.all(witnesses.map((w) => w.stop()));
  await scratch.remove();
  return {
    witnesses: witnessCount,
    publishMs,
    cosignedMs,
    cosignedAtFirst,
    roundTripMs: roundTripMs.slice(witnessCount),
    appendsPerSecond: appended / elapsed,
    fullyCosigned,
  };
}

/** The log's files on disk, noting when each checkpoint was written (performance.now()). */
class TimedTileStore extends FsTileStore {
  readonly writes: { at: number; checkpoint: string }[] = [];

  override async put(path: string, data: Uint8Array): Promise<void> {
    await super.put(path, data);
    if (path === 'checkpoint')
      this.writes.push({ at: performance.now(), checkpoint: Buffer.from(data).toString('utf8') });
  }
}

/** A witness whose add-checkpoint round trips are timed into `times` (ms). */
function timed(witness: LogWitness, times: number[]): LogWitness {
  return {
    ...witness,
    async addCheckpoint(body, signal) {
      const start = performance.now();
      try {
        return await witness.addCheckpoint(body, signal);
      } finally {
        times.push(performance.now() - start);
      }
    },
  };
}
