import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CONTROL_NODE, controlDirectory } from '../../src/config/data-dir.js';
import { loadConfig } from '../../src/config/load.js';
import { decodeEntryBundle, entriesPath, TILE_WIDTH } from '../../src/ledger/merkle/index.js';
import { parseCheckpoint } from '../../src/ledger/note/index.js';
import { openNodeLog } from '../../src/ledger/open-node-log.js';
import type { TransparencyLog } from '../../src/ledger/transparency-log.js';
import type { PublishedLogReader } from '../../src/ledger/verify-published-log.js';
import { CLI_ENTRY, type CliResult, REPO_ROOT } from './cli.js';

/** test/interop/run-go-check.sh: builds and runs the Go checker (golang.org/x/mod/sumdb). */
export const GO_CHECK_SCRIPT = join(REPO_ROOT, 'test', 'interop', 'run-go-check.sh');
export const GO_INSTALL = 'apt-get install -y golang-go golang-golang-x-mod-dev';

/** go-interop.test.ts's rule: without Go the Go checks are skipped locally, never under CI. */
export function skipGoChecks(): boolean {
  const goInstalled = spawnSync('go', ['version']).status === 0;
  return !goInstalled && !process.env.CI;
}

/** `<data>/control` or `<data>/sites/<site>`: where a node keeps its log. */
export function nodeDirectory(dataDir: string, node: string): string {
  return node === CONTROL_NODE ? controlDirectory(dataDir) : join(dataDir, 'sites', node);
}

/** `<node dir>/log/public`: the node's checkpoint and tiles, as the server serves them. */
export function publicLogDirectory(dataDir: string, node: string): string {
  return join(nodeDirectory(dataDir, node), 'log', 'public');
}

/**
 * Runs the real CLI  without blocking the event loop (a server in this
 * process, or a poll, keeps running); resolves with the exit status, never rejects on it.
 */
export async function runCliAsync(args: readonly string[]): Promise<CliResult> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('GLASSHOUSE_')),
  );
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...CLI_ENTRY, ...args], {
      cwd: REPO_ROOT,
      env,
      timeout: 60_000,
      encoding: 'utf8',
    });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { status: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** How many entries the node's journal holds (what is durable), read as production opens the log. */
export async function journalSize(dataDir: string, node: string): Promise<number> {
  const config = loadConfig({ dataDir, logLevel: 'silent' });
  const log = await openNodeLog(config, node, nodeDirectory(dataDir, node), {
    tiles: { engine: 'fs' },
    publish: false,
  });
  try {
    return await log.size();
  } finally {
    await log.close();
  }
}

export interface FetchedCheckpoint {
  readonly text: string;
  readonly treeSize: number;
}

/** `GET /log/<node>/checkpoint`, its size read without verifying the signature. */
export async function fetchCheckpoint(baseUrl: string, node: string): Promise<FetchedCheckpoint> {
  const response = await fetch(`${baseUrl}/log/${node}/checkpoint`, { signal: AbortSignal.timeout(10_000) });
  if (response.status !== 200) throw new Error(`GET /log/${node}/checkpoint: ${response.status}`);
  const text = await response.text();
  return { text, treeSize: checkpointSize(text) };
}

/** The tree size of a signed checkpoint (its note text ends at the blank line). */
export function checkpointSize(signed: string): number {
  return parseCheckpoint(signed.slice(0, signed.indexOf('\n\n') + 1)).treeSize;
}

/**
 * Polls `GET /log/<node>/checkpoint` until it covers everything in the node's journal (the
 * server publishes every `ledger.checkpointIntervalMs`), and returns that checkpoint.
 */
export async function waitForPublished(
  baseUrl: string,
  dataDir: string,
  node: string,
  timeoutMs = 20_000,
): Promise<FetchedCheckpoint> {
  const size = await journalSize(dataDir, node);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const checkpoint = await fetchCheckpoint(baseUrl, node);
    if (checkpoint.treeSize >= size) return checkpoint;
    if (Date.now() > deadline) {
      throw new Error(`the ${node} checkpoint stayed at ${checkpoint.treeSize}, the journal holds ${size}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every entry of a published log of `size` entries, from its entry bundles. */
export async function readPublishedEntries(read: PublishedLogReader, size: number): Promise<Buffer[]> {
  const entries: Buffer[] = [];
  for (let n = 0; n * TILE_WIDTH < size; n += 1) {
    const path = entriesPath(n, Math.min(TILE_WIDTH, size - n * TILE_WIDTH));
    const bundle = await read(path);
    if (bundle === undefined) throw new Error(`missing entry bundle ${path}`);
    entries.push(...decodeEntryBundle(bundle));
  }
  return entries;
}

/** A reader of a published log directory on disk. */
export function diskReader(directory: string): PublishedLogReader {
  return async (path) => {
    try {
      return readFileSync(join(directory, path));
    } catch {
      return undefined;
    }
  };
}

/**
 * Flips one bit of the byte at `offset` (negative: from the end) of a file in place and
 * returns a function that puts the original bytes back.
 */
export function flipByte(file: string, offset: number): () => void {
  const original = readFileSync(file);
  const changed = Buffer.from(original);
  const at = offset < 0 ? changed.length + offset : offset;
  if (at < 0 || at >= changed.length) throw new RangeError(`${file} has no byte ${offset}`);
  changed[at] = changed[at]! ^ 0x01;
  writeFileSync(file, changed);
  return () => writeFileSync(file, original);
}

/**
 * Publishes until the checkpoint covers every entry that is durable now. `publish()` joins a
 * publication already under way (the timer's), which may have read the journal size before
 * the latest appends, so one call is not enough.
 */
export async function publishAll(log: TransparencyLog): Promise<void> {
  const size = await log.size();
  for (let attempt = 0; attempt < 5 && (await log.publishedSize()) < size; attempt += 1) await log.publish();
}
