import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_NODE, controlDirectory, initDataDir } from '../src/config/data-dir.js';
import { loadConfig, resolvePaths } from '../src/config/load.js';
import { verifyConsistency } from '../src/ledger/merkle/index.js';
import { type OpenedCheckpoint, openCheckpoint, parseVerifierKey } from '../src/ledger/note/index.js';
import { nodeSigner, openNodeLog } from '../src/ledger/open-node-log.js';
import type { TransparencyLog } from '../src/ledger/transparency-log.js';
import { verifyPublishedLog } from '../src/ledger/verify-published-log.js';
import { REPO_ROOT } from './support/cli.js';
import { crashEntry, parseAcknowledgement } from './support/crash-log-entries.js';
import { checkpointSize, diskReader, publicLogDirectory, publishAll } from './support/ledger.js';

/*
 * The durability promise of the log (issue: "an append resolves only once the entry is durable;
 * a crash can delay a checkpoint but never make one that the journal does not extend"): a child
 * process opens the control log as `glasshouse up` does, appends from several writers at once and
 * publishes a checkpoint every 50 ms; it is killed with SIGKILL at a random moment, and on
 * reopening every acknowledged entry must be there with its exact bytes, and the last checkpoint
 * published before the kill must be a prefix of the log. A process kill keeps the page cache, so
 * this proves the order of writes (journal commit, then tiles, then checkpoint), not the fsyncs.
 */

const KILL_CYCLES = 3;
const CHECKPOINT_INTERVAL_MS = 50;
const CHILD = join(REPO_ROOT, 'test', 'support', 'log-writer-child.ts');
const APPENDED_AFTER_RESTART = 25;
/** The child publishes every 50 ms; under its flood of appends a publication takes longer. */
const PUBLISH_TIMEOUT_MS = 15_000;

let dataDir: string;
let verifierKey: string;
let origin: string;
const children = new Set<ChildProcess>();

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'glasshouse-ledger-crash-'));
  const paths = resolvePaths({ dataDir });
  initDataDir(paths);
  const text = readFileSync(paths.configFile, 'utf8');
  const faster = text.replace(/checkpointIntervalMs: \d+/, `checkpointIntervalMs: ${CHECKPOINT_INTERVAL_MS}`);
  expect(faster).not.toBe(text);
  writeFileSync(paths.configFile, faster);
  const config = loadConfig({ dataDir, logLevel: 'silent' });
  expect(config.ledger.checkpointIntervalMs).toBe(CHECKPOINT_INTERVAL_MS);
  const signer = nodeSigner(config, CONTROL_NODE);
  verifierKey = signer.verifierKey;
  origin = signer.name;
});

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

interface Run {
  /** index → id of every append the child acknowledged before it died. */
  readonly acknowledged: Map<number, string>;
  /** The checkpoint file as the kill left it. */
  readonly checkpoint: string;
}

describe('TransparencyLog (control log of a data directory)', () => {
  describe('when the appending, publishing process is killed with SIGKILL, again and again', () => {
    it('keeps every acknowledged entry byte for byte, extends the last checkpoint and keeps working', async () => {
      const acknowledged = new Map<number, string>();
      let trusted: { text: string; checkpoint: OpenedCheckpoint } | undefined;

      for (let cycle = 0; cycle < KILL_CYCLES; cycle += 1) {
        const run = await appendUntilKilled(cycle);
        expect(run.acknowledged.size, 'appends acknowledged before the kill').toBeGreaterThan(0);
        for (const [index, id] of run.acknowledged) {
          expect(acknowledged.has(index), `index ${index} acknowledged twice`).toBe(false);
          acknowledged.set(index, id);
        }
        const killedAt = open(run.checkpoint);
        expect(killedAt.treeSize, 'the child published while appending').toBeGreaterThan(0);
        if (trusted !== undefined)
          expect(killedAt.treeSize).toBeGreaterThanOrEqual(trusted.checkpoint.treeSize);

        const log = await reopen();
        try {
          const size = await log.size();
          expect(killedAt.treeSize).toBeLessThanOrEqual(size);
          await expectAcknowledgedIntact(log, size, acknowledged);

          // Reopening published a checkpoint of everything durable, which extends the one the kill left.
          const now = open((await log.checkpoint())!);
          expect(now.treeSize).toBe(size);
          const proof = await log.proveConsistency(killedAt.treeSize, now.treeSize);
          expect(() =>
            verifyConsistency(
              proof,
              killedAt.treeSize,
              now.treeSize,
              Buffer.from(killedAt.rootHash),
              Buffer.from(now.rootHash),
            ),
          ).not.toThrow();
          const verified = await verifyPublishedLog({
            read: diskReader(publicLogDirectory(dataDir, CONTROL_NODE)),
            verifierKey,
            previousCheckpoint: run.checkpoint,
          });
          expect(verified).toMatchObject({ origin, size, previous: { size: killedAt.treeSize } });
          if (trusted !== undefined) {
            const fromTrusted = await verifyPublishedLog({
              read: diskReader(publicLogDirectory(dataDir, CONTROL_NODE)),
              verifierKey,
              previousCheckpoint: trusted.text,
            });
            expect(fromTrusted.previous?.size).toBe(trusted.checkpoint.treeSize);
          }

          // The log keeps working: more appends take the next indexes and are published and verified.
          const ids = Array.from({ length: APPENDED_AFTER_RESTART }, (_, i) => `${cycle}-99-${i}`);
          const indexes = await Promise.all(ids.map((id) => log.appendBytes(crashEntry(id))));
          expect([...indexes].sort((a, b) => a - b)).toEqual(
            Array.from({ length: APPENDED_AFTER_RESTART }, (_, i) => size + i),
          );
          indexes.forEach((index, i) => {
            acknowledged.set(index, ids[i]!);
          });
          await publishAll(log);
          const grown = await verifyPublishedLog({
            read: diskReader(publicLogDirectory(dataDir, CONTROL_NODE)),
            verifierKey,
            previousCheckpoint: run.checkpoint,
          });
          expect(grown.size).toBe(size + APPENDED_AFTER_RESTART);
          await expectAcknowledgedIntact(log, grown.size, acknowledged);
          const text = (await log.checkpoint())!;
          trusted = { text, checkpoint: open(text) };
        } finally {
          await log.close();
        }
      }
    }, 180_000);
  });
});

function open(text: string): OpenedCheckpoint {
  return openCheckpoint(text, [parseVerifierKey(verifierKey)], { origin });
}

/** Opens the control log as production does (`openGlasshouse`, serving process). */
function reopen(): Promise<TransparencyLog> {
  const config = loadConfig({ dataDir, logLevel: 'silent' });
  return openNodeLog(config, CONTROL_NODE, controlDirectory(config.dataDir), {
    tiles: config.storage.tiles,
    publish: true,
  });
}

/** Every acknowledged index holds the exact bytes appended, and no entry appears twice. */
async function expectAcknowledgedIntact(
  log: TransparencyLog,
  size: number,
  acknowledged: ReadonlyMap<number, string>,
): Promise<void> {
  const entries = await log.readEntries(0, size);
  expect(entries).toHaveLength(size);
  for (const [index, id] of acknowledged) {
    expect(index, `acknowledged index ${index} is in the log`).toBeLessThan(size);
    expect(entries[index]!.equals(crashEntry(id)), `entry ${index} is ${id}`).toBe(true);
  }
  const texts = entries.map((entry) => entry.toString('utf8'));
  expect(new Set(texts).size, 'every entry is appended once').toBe(texts.length);
  for (const text of texts) expect(text).toMatch(/^\{"i":"[0-9]+-[0-9]+-[0-9]+","type":"crash-test"\}$/);
}

/**
 * Starts the writer child, kills it with SIGKILL a random 300–1500 ms after it acknowledged
 * an append and published a checkpoint of new entries, and returns what it acknowledged and
 * the checkpoint file the kill left.
 */
async function appendUntilKilled(cycle: number): Promise<Run> {
  const publishedBefore = publishedSize();
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, String(cycle)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const acknowledged = new Map<number, string>();
  let pending = '';
  let stderr = '';
  let firstAcknowledgement = () => {};
  const acknowledgedOnce = new Promise<void>((resolve) => {
    firstAcknowledgement = resolve;
  });
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    // The last element is an unfinished line (or empty): the kill may cut it off.
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const { index, id } = parseAcknowledgement(line);
      acknowledged.set(index, id);
    }
    if (acknowledged.size > 0) firstAcknowledgement();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });

  await Promise.race([
    acknowledgedOnce,
    exited.then(({ code }) => {
      throw new Error(`the writer exited (${code}) before appending:\n${stderr}`);
    }),
  ]);
  await Promise.race([
    publishedBeyond(publishedBefore).then(() => sleep(randomInt(300, 1501))),
    exited.then(({ code }) => {
      throw new Error(`the writer exited (${code}) before the kill:\n${stderr}`);
    }),
  ]);
  child.kill('SIGKILL');
  const { signal } = await exited;
  expect(signal).toBe('SIGKILL');
  expect(stderr).toBe('');
  return { acknowledged, checkpoint: readFileSync(checkpointFile(), 'utf8') };
}

const checkpointFile = () => join(publicLogDirectory(dataDir, CONTROL_NODE), 'checkpoint');

/** The size of the checkpoint on disk (unverified; 0 before the first). */
function publishedSize(): number {
  return existsSync(checkpointFile()) ? checkpointSize(readFileSync(checkpointFile(), 'utf8')) : 0;
}

/** Resolves once the child published a checkpoint larger than `size`; fails after a while. */
async function publishedBeyond(size: number): Promise<void> {
  const deadline = Date.now() + PUBLISH_TIMEOUT_MS;
  while (publishedSize() <= size) {
    if (Date.now() > deadline) {
      throw new Error(`the writer published no checkpoint past ${size} within ${PUBLISH_TIMEOUT_MS} ms`);
    }
    await sleep(20);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
