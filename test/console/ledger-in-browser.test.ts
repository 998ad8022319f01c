import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type Bytes,
  inclusionSpans,
  leafHash,
  rootFromInclusionProof,
  storedHashIndex,
  toHex,
  verifyInclusion,
} from '../../console/src/ledger/merkle.js';
import {
  parseSignedCheckpoint,
  parseVerifierKey,
  verifyCheckpointSignature,
} from '../../console/src/ledger/note.js';
import {
  checkInclusion,
  decodeEntryBundle,
  entriesPath,
  inclusionProofFromTiles,
  TileCheckError,
  TileHashReader,
  tilePath,
} from '../../console/src/ledger/tiles.js';
import {
  encodeEntryBundle,
  hashLeaf,
  MemoryHashStore,
  proveInclusion,
  readTileData,
  entriesPath as serverEntriesPath,
  tilePath as serverTilePath,
  tilesToWrite,
  treeHash,
} from '../../src/ledger/merkle/index.js';
import { storedHashIndex as serverStoredHashIndex } from '../../src/ledger/merkle/stored-hashes.js';
import { formatCheckpoint, noteSignerFromKey } from '../../src/ledger/note/index.js';

/*
 * The console's Merkle, tile and note code (console/src/ledger, used by the auditor and privacy desks) runs in the browser with WebCrypto; here it
 * runs in Node (which has the same WebCrypto) against the server's own implementation.
 */

const bytes = (b: Uint8Array): Bytes => new Uint8Array(b);
const entryOf = (i: number) => Buffer.from(JSON.stringify({ type: 'test.entry', i }), 'utf8');

/** A log of `size` entries, its published tiles (as the server writes them) and its root. */
async function logOf(size: number) {
  const store = new MemoryHashStore();
  for (let i = 0; i < size; i++) await store.append(entryOf(i));
  const tiles = new Map<string, Bytes>();
  for (const tile of tilesToWrite(0, size).hashTiles) {
    tiles.set(serverTilePath(tile), bytes(await readTileData(tile, store.read)));
  }
  return { store, tiles, root: await treeHash(size, store.read) };
}

const fetchFrom = (tiles: Map<string, Bytes>) => async (path: string) => {
  const data = tiles.get(path);
  if (data === undefined) throw new Error(`no tile ${path}`);
  return data;
};

describe('the console’s Merkle code', () => {
  it('hashes leaves as RFC 6962 and numbers stored hashes as the server does', async () => {
    for (const entry of [Buffer.alloc(0), entryOf(1), Buffer.alloc(300, 7)]) {
      expect(toHex(await leafHash(entry))).toBe(hashLeaf(entry).toString('hex'));
    }
    for (let level = 0; level < 12; level++)
      for (let n = 0; n < 50; n++) expect(storedHashIndex(level, n)).toBe(serverStoredHashIndex(level, n));
  });

  it('builds from the tiles the inclusion proof of every entry of every tree of 1..40 entries, equal to the server’s, and checks it', async () => {
    for (let size = 1; size <= 40; size++) {
      const { store, tiles, root } = await logOf(size);
      for (let index = 0; index < size; index++) {
        const expected = await proveInclusion(index, size, store.read);
        const reader = new TileHashReader(size, fetchFrom(tiles));
        const proof = await inclusionProofFromTiles(index, size, reader);
        expect(proof.map(toHex)).toEqual(expected.map((h) => h.toString('hex')));
        expect(inclusionSpans(index, size)).toHaveLength(expected.length);
        const leaf = await leafHash(entryOf(index));
        expect(await verifyInclusion(proof, index, size, leaf, root)).toBe(true);
        // Another entry, index or size does not reach the root.
        expect(await verifyInclusion(proof, index, size, await leafHash(entryOf(index + 1)), root)).toBe(
          false,
        );
        if (size > 1) expect(await verifyInclusion(proof, (index + 1) % size, size, leaf, root)).toBe(false);
        if (size > 1)
          expect(await rootFromInclusionProof(proof.slice(1), index, size, leaf)).not.toEqual(bytes(root));
      }
    }
  });

  it('reads tiles above level 0 and full tiles: a tree of 70,000 entries at chosen indexes', async () => {
    const size = 70_000;
    const store = new MemoryHashStore();
    for (let i = 0; i < size; i++) await store.appendLeafHash(hashLeaf(entryOf(i)));
    const tiles = new Map<string, Bytes>();
    for (const tile of tilesToWrite(0, size).hashTiles)
      tiles.set(serverTilePath(tile), bytes(await readTileData(tile, store.read)));
    const root = await treeHash(size, store.read);
    for (const index of [0, 1, 255, 256, 65_535, 65_536, 69_999]) {
      const reader = new TileHashReader(size, fetchFrom(tiles));
      const proof = await inclusionProofFromTiles(index, size, reader);
      expect(proof.map(toHex)).toEqual(
        (await proveInclusion(index, size, store.read)).map((h) => h.toString('hex')),
      );
      expect(reader.paths.some((p) => p.startsWith('tile/1/'))).toBe(true);
      await checkInclusion({
        entry: entryOf(index),
        index,
        treeSize: size,
        root,
        bundlePath: entriesPath(Math.floor(index / 256), 256),
        from: new TileHashReader(size, fetchFrom(tiles)),
      });
    }
  });

  it('spells tile and entry-bundle paths as the server does and decodes its entry bundles', async () => {
    for (const tile of [
      { level: 0, n: 0, width: 5 },
      { level: 0, n: 1_234_067, width: 256 },
      { level: 2, n: 1000, width: 17 },
    ]) {
      expect(tilePath(tile)).toBe(serverTilePath(tile));
      expect(entriesPath(tile.n, tile.width)).toBe(serverEntriesPath(tile.n, tile.width));
    }
    const entries = [entryOf(0), Buffer.alloc(0), Buffer.alloc(70_00, 1), entryOf(3)];
    expect(decodeEntryBundle(encodeEntryBundle(entries)).map((e) => Buffer.from(e))).toEqual(entries);
    expect(() => decodeEntryBundle(encodeEntryBundle(entries).subarray(0, 20))).toThrow(/truncated/);
  });

  it('names the altered file when an entry bundle or a hash tile was changed', async () => {
    const { tiles, root } = await logOf(12);
    const bundlePath = entriesPath(0, 12);
    const check = (entry: Uint8Array, from: TileHashReader) =>
      checkInclusion({ entry, index: 3, treeSize: 12, root, bundlePath, from });
    await expect(check(entryOf(3), new TileHashReader(12, fetchFrom(tiles)))).resolves.toMatchObject({
      index: 3,
    });

    const altered = await check(entryOf(4), new TileHashReader(12, fetchFrom(tiles))).catch((e) => e);
    expect(altered).toBeInstanceOf(TileCheckError);
    expect(altered.message).toContain('entry 3 from tile/entries/000.p/12');

    // A sibling hash changed in the tile: the leaf matches, the proof does not reach the root.
    const changed = new Map(tiles);
    const tile = new Uint8Array(tiles.get('tile/0/000.p/12')!);
    tile[0] = tile[0]! ^ 1;
    changed.set('tile/0/000.p/12', tile);
    const failed = await check(entryOf(3), new TileHashReader(12, fetchFrom(changed))).catch((e) => e);
    expect(failed.message).toContain('built from tile/0/000.p/12 does not reach');
  });
});

describe('the console’s note code', () => {
  const signer = noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, 'glasshouse-test/control');
  const rootHash = hashLeaf(Buffer.from('x'));
  const note = signer.sign(formatCheckpoint({ origin: 'glasshouse-test/control', treeSize: 7, rootHash }));

  it('parses a checkpoint the server signed and verifies its Ed25519 signature with WebCrypto', async () => {
    const checkpoint = parseSignedCheckpoint(note);
    expect(checkpoint).toMatchObject({ origin: 'glasshouse-test/control', treeSize: 7 });
    expect(toHex(checkpoint.rootHash)).toBe(rootHash.toString('hex'));
    expect(checkpoint.signatures).toHaveLength(1);
    const key = await parseVerifierKey(signer.verifierKey);
    expect(key.keyId).toBe(signer.keyId.toString('hex'));
    expect(await verifyCheckpointSignature(checkpoint, key)).toEqual({
      outcome: 'verified',
      by: `glasshouse-test/control+${key.keyId}`,
    });
  });

  it('says when the text was changed, when another key signed, and refuses a malformed key', async () => {
    const key = await parseVerifierKey(signer.verifierKey);
    const changed = parseSignedCheckpoint(note.replace('\n7\n', '\n8\n'));
    expect((await verifyCheckpointSignature(changed, key)).outcome).toBe('invalid');
    const other = noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, 'glasshouse-other/control');
    expect(
      await verifyCheckpointSignature(parseSignedCheckpoint(note), await parseVerifierKey(other.verifierKey)),
    ).toMatchObject({
      outcome: 'not-signed-by-key',
    });
    await expect(parseVerifierKey('nope')).rejects.toThrow(/name\+hhhhhhhh\+base64/);
    const wrongId = signer.verifierKey.replace(/\+[0-9a-f]{8}\+/, '+00000000+');
    await expect(parseVerifierKey(wrongId)).rejects.toThrow(/key ID does not match/);
  });
});
