import countries from 'i18n-iso-countries';
import en from 'i18n-iso-countries/langs/en.json';
import { DeskStateFolder, type DeskStates } from '../../../src/control/reports/desk-entries.js';
import { parsePeriod } from '../../../src/control/reports/period.js';
import {
  computeReportNumbers,
  periodContext,
  type Share,
} from '../../../src/control/reports/report-numbers.js';
import { shareText } from '../../../src/control/reports/report-text.js';
import {
  type Bytes,
  completeSubtrees,
  equalBytes,
  foldSubtrees,
  HASH_SIZE,
  leafHash,
  nodeHash,
  toBase64,
} from '../ledger/merkle.js';
import { parseSignedCheckpoint, parseVerifierKey, type SignedCheckpoint } from '../ledger/note.js';
import {
  decodeEntryBundle,
  entriesPath,
  TILE_HEIGHT,
  TILE_WIDTH,
  TileHashReader,
  tilePath,
} from '../ledger/tiles.js';
import { checkCosignature, parseWitnessKey } from './cosignatures.js';
import { verifyEd25519 } from './ed25519.js';

// The reports' own code names countries; in the browser the package has no language until told.
countries.registerLocale(en);

/** A number shown on the page, and where the log's value of it is. */
export interface PageNumber {
  /** Path in the report's numbers, or with `period` in that period's context. */
  readonly path: string;
  readonly period?: string;
  /** The value when the path names nothing (a country with no request in that period). */
  readonly absent?: string;
  /** The text the page shows. */
  readonly text: string;
}

export interface PageToVerify {
  readonly period: string;
  /** The signed checkpoint the report was computed at, with its cosignatures. */
  readonly note: string;
  /** The control log's verifier key. */
  readonly key: string;
  /** The witnesses the page names, by their verifier keys. */
  readonly witnessKeys: readonly string[];
  readonly numbers: readonly PageNumber[];
}

/** Fetches a file of the public log (`checkpoint`, `tile/…`); `undefined` for a 404. */
export type FetchLogFile = (path: string) => Promise<Bytes | undefined>;

export interface Mismatch {
  readonly path: string;
  readonly period?: string;
  readonly page: string;
  readonly log: string;
  /** Index in `numbers`. */
  readonly at: number;
}

export interface PageVerification {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: string;
  readonly cosignedBy: readonly { readonly name: string; readonly keyId: string; readonly time: string }[];
  readonly notCosignedBy: readonly { readonly name: string; readonly why: string }[];
  readonly entries: number;
  readonly tilesChecked: number;
  readonly numbersChecked: number;
  readonly mismatches: readonly Mismatch[];
}

/** A check that failed outright: a signature, a file of the log, the root. */
export class VerificationError extends Error {
  constructor(
    message: string,
    /** The files of the log the failure rests on. */
    readonly files: readonly string[] = [],
  ) {
    super(message);
    this.name = 'VerificationError';
  }
}

/**
 * Verifies a report page against the public log, in the browser: the checkpoint's signature
 * by the log's key, each named witness's cosignature, the entries up to the checkpoint against
 * its root, every hash tile covering them against the entries, the root from the tiles, and
 * every number of the page against the numbers recomputed from the entries.
 *
 * @throws {VerificationError} naming the file of the log when a signature, a tile or the root fails.
 */
export async function verifyReportPage(
  page: PageToVerify,
  fetchFile: FetchLogFile,
  onProgress: (message: string) => void = () => {},
): Promise<PageVerification> {
  const key = await parseVerifierKey(page.key);
  const checkpoint = parseSignedCheckpoint(page.note);
  if (checkpoint.origin !== key.name) {
    throw new VerificationError(`the checkpoint is of ${checkpoint.origin}, not of ${key.name}`);
  }
  await checkSignature(checkpoint, key, 'the report’s checkpoint');
  const cosignedBy: { name: string; keyId: string; time: string }[] = [];
  const notCosignedBy: { name: string; why: string }[] = [];
  for (const text of page.witnessKeys) {
    const witness = await parseWitnessKey(text);
    const check = await checkCosignature(checkpoint, witness);
    if (check.outcome === 'cosigned') {
      cosignedBy.push({
        name: witness.name,
        keyId: witness.keyId,
        time: new Date(check.timestamp * 1000).toISOString(),
      });
    } else {
      notCosignedBy.push({
        name: witness.name,
        why:
          check.outcome === 'missing'
            ? 'no cosignature in the checkpoint'
            : 'its cosignature does not verify',
      });
    }
  }

  // The tiles are read at the log's latest size: the partial tiles of an older size may be gone.
  const latestBytes = await fetchFile('checkpoint');
  if (latestBytes === undefined) throw new VerificationError('the log has no checkpoint', ['checkpoint']);
  const latest = parseSignedCheckpoint(new TextDecoder().decode(latestBytes));
  await checkSignature(latest, key, 'the log’s latest checkpoint');
  const size = checkpoint.treeSize;
  if (latest.treeSize < size) {
    throw new VerificationError(
      `the log’s latest checkpoint (${latest.treeSize} entries) is smaller than the report’s (${size})`,
      ['checkpoint'],
    );
  }

  onProgress(`reading ${size} entries`);
  const folder = new DeskStateFolder();
  const leaves: Bytes[] = [];
  const bundles: string[] = [];
  for (let n = 0; n * TILE_WIDTH < size; n++) {
    const want = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
    const { path, data } = await fetchFirst(fetchFile, [
      entriesPath(n, Math.min(TILE_WIDTH, latest.treeSize - n * TILE_WIDTH)),
      entriesPath(n, want),
    ]);
    let entries: Bytes[];
    try {
      entries = decodeEntryBundle(data);
    } catch (error) {
      throw new VerificationError(`${path}: ${(error as Error).message}`, [path]);
    }
    if (entries.length < want) {
      throw new VerificationError(`${path} holds ${entries.length} entries, not ${want}`, [path]);
    }
    for (const entry of entries.slice(0, want)) leaves.push(await leafHash(entry));
    folder.add(entries.slice(0, want));
    bundles.push(path);
  }

  onProgress('checking the Merkle tree');
  const levels = await treeLevels(leaves);
  const root = await rootOf(levels, size);
  if (!equalBytes(root, checkpoint.rootHash)) {
    const altered = await alteredBundle(fetchFile, leaves, bundles, latest.treeSize);
    throw new VerificationError(
      altered === undefined
        ? `the entries ${bundles.join(', ')} do not hash to the checkpoint’s root`
        : `${altered.bundle} was altered: entry ${altered.index} does not hash to the leaf in ${altered.tile}, and the entries do not hash to the checkpoint’s root`,
      altered === undefined ? bundles : [altered.bundle],
    );
  }
  const tilesChecked = await checkHashTiles(fetchFile, levels, size, latest.treeSize);
  const reader = new TileHashReader(latest.treeSize, async (path) => {
    const data = await fetchFile(path);
    if (data === undefined) throw new VerificationError(`missing hash tile ${path}`, [path]);
    return data;
  });
  const fromTiles = await foldSubtrees(
    await Promise.all(
      completeSubtrees({ lo: 0, hi: size }).map(
        async ({ level, n }) => (await reader.subtreeHash(level, n)).hash,
      ),
    ),
  );
  if (!equalBytes(fromTiles, checkpoint.rootHash)) {
    throw new VerificationError(
      `the hash tiles ${reader.paths.join(', ')} do not lead to the checkpoint’s root`,
      reader.paths,
    );
  }

  onProgress('recomputing the numbers');
  const states = folder.states();
  const mismatches = compareNumbers(page, states);
  return {
    origin: checkpoint.origin,
    size,
    rootHash: toBase64(checkpoint.rootHash),
    cosignedBy,
    notCosignedBy,
    entries: size,
    tilesChecked,
    numbersChecked: page.numbers.length,
    mismatches,
  };
}

async function checkSignature(
  checkpoint: SignedCheckpoint,
  key: { name: string; keyId: string; publicKey: Bytes },
  what: string,
): Promise<void> {
  const mine = checkpoint.signatures.filter((s) => s.name === key.name && s.keyId === key.keyId);
  if (mine.length === 0) throw new VerificationError(`${what} is not signed by ${key.name}+${key.keyId}`);
  const text = new TextEncoder().encode(checkpoint.text);
  for (const { signature } of mine) {
    if (!(await verifyEd25519(key.publicKey, signature, text))) {
      throw new VerificationError(`the signature of ${what} by ${key.name} does not verify`);
    }
  }
}

async function fetchFirst(
  fetchFile: FetchLogFile,
  paths: readonly string[],
): Promise<{ path: string; data: Bytes }> {
  for (const path of new Set(paths)) {
    const data = await fetchFile(path);
    if (data !== undefined) return { path, data };
  }
  throw new VerificationError(`missing entry bundle ${paths[0]}`, [...paths]);
}

/** levels[k][i]: the hash of the complete subtree of 2^k leaves starting at leaf i·2^k. */
async function treeLevels(leaves: readonly Bytes[]): Promise<Bytes[][]> {
  const levels: Bytes[][] = [[...leaves]];
  for (let below = levels[0]!; below.length > 1; ) {
    const up: Bytes[] = [];
    for (let i = 0; i + 1 < below.length; i += 2) up.push(await nodeHash(below[i]!, below[i + 1]!));
    levels.push(up);
    below = up;
  }
  return levels;
}

async function rootOf(levels: readonly Bytes[][], size: number): Promise<Bytes> {
  if (size === 0) return sha256Empty();
  return foldSubtrees(completeSubtrees({ lo: 0, hi: size }).map(({ level, n }) => levels[level]![n]!));
}

async function sha256Empty(): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(0)));
}

/** The width of tile n of a level holding `count` hashes in the latest tree. */
function widthAt(count: number, n: number): number {
  return Math.min(TILE_WIDTH, count - n * TILE_WIDTH);
}

/**
 * Every hash tile that holds a hash of the report's tree, byte for byte against the hashes
 * recomputed from the (root-checked) entries: an altered tile is named.
 */
async function checkHashTiles(
  fetchFile: FetchLogFile,
  levels: readonly Bytes[][],
  size: number,
  latestSize: number,
): Promise<number> {
  let checked = 0;
  for (let tileLevel = 0; ; tileLevel++) {
    const hashes = levels[tileLevel * TILE_HEIGHT];
    if (hashes === undefined || hashes.length === 0) break;
    const published = Math.floor(latestSize / TILE_WIDTH ** tileLevel);
    for (let n = 0; n * TILE_WIDTH < hashes.length; n++) {
      const path = tilePath({ level: tileLevel, n, width: widthAt(published, n) });
      const data = await fetchFile(path);
      if (data === undefined) throw new VerificationError(`missing hash tile ${path}`, [path]);
      if (data.length !== widthAt(published, n) * HASH_SIZE) {
        throw new VerificationError(
          `${path} has ${data.length} bytes, not ${widthAt(published, n) * HASH_SIZE}`,
          [path],
        );
      }
      for (let i = 0; i < Math.min(TILE_WIDTH, hashes.length - n * TILE_WIDTH); i++) {
        const stored = data.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
        if (!equalBytes(stored, hashes[n * TILE_WIDTH + i]!)) {
          throw new VerificationError(
            `${path} was altered: its hash ${i} is not the one the entries (which match the signed root) give`,
            [path],
          );
        }
      }
      checked += 1;
    }
    if (size < TILE_WIDTH ** (tileLevel + 1)) break;
  }
  return checked;
}

/** The first entry bundle whose entries differ from the leaf hashes of the level-0 tiles. */
async function alteredBundle(
  fetchFile: FetchLogFile,
  leaves: readonly Bytes[],
  bundles: readonly string[],
  latestSize: number,
): Promise<{ bundle: string; tile: string; index: number } | undefined> {
  for (let n = 0; n < bundles.length; n++) {
    const tile = tilePath({ level: 0, n, width: widthAt(latestSize, n) });
    const data = await fetchFile(tile);
    if (data === undefined) continue;
    for (let i = 0; i < TILE_WIDTH && n * TILE_WIDTH + i < leaves.length; i++) {
      const stored = data.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
      if (!equalBytes(stored, leaves[n * TILE_WIDTH + i]!)) {
        return { bundle: bundles[n]!, tile, index: n * TILE_WIDTH + i };
      }
    }
  }
  return undefined;
}

/** Each number of the page against the same computation the server ran. */
function compareNumbers(page: PageToVerify, states: DeskStates): Mismatch[] {
  const report = computeReportNumbers(states, parsePeriod(page.period));
  const contexts = new Map<string, unknown>();
  const context = (period: string) => {
    if (!contexts.has(period)) contexts.set(period, periodContext(states, parsePeriod(period)));
    return contexts.get(period);
  };
  const mismatches: Mismatch[] = [];
  for (const [at, n] of page.numbers.entries()) {
    const value = resolve(n.period === undefined ? report : context(n.period), n.path);
    const log = value === undefined ? (n.absent ?? 'nothing') : display(value);
    if (log !== n.text.trim()) {
      mismatches.push({
        path: n.path,
        page: n.text.trim(),
        log,
        at,
        ...(n.period === undefined ? {} : { period: n.period }),
      });
    }
  }
  return mismatches;
}

/** `legal.byCountry[2].total`, `byCountry[country=DE].total`. */
function resolve(root: unknown, path: string): unknown {
  let value = root;
  for (const part of path.match(/[^.[\]]+|\[[^\]]*\]/g) ?? []) {
    if (typeof value !== 'object' || value === null) return undefined;
    const select = /^\[(\w+)=([^\]]*)\]$/.exec(part);
    if (select !== null && Array.isArray(value)) {
      value = value.find((item) => (item as Record<string, unknown>)[select[1]!] === select[2]);
    } else if (/^\[\d+\]$/.test(part) && Array.isArray(value)) {
      value = value[Number(part.slice(1, -1))];
    } else {
      value = (value as Record<string, unknown>)[part];
    }
  }
  return value;
}

/** As the page renders it: a share as "at least 40%", anything else as text. */
function display(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'atLeast' in value && 'value' in value) {
    return shareText(value as Share);
  }
  return String(value);
}
