import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ReceiptLog, verifyReceiptLog } from '../../console/src/desks/privacy/verify-receipt.js';
import { MemoryHashStore, proveInclusion, treeHash } from '../../src/ledger/merkle/index.js';
import { formatCheckpoint, noteSignerFromKey } from '../../src/ledger/note/index.js';

/*
 * The console's in-browser check of an erasure receipt, against the server's own Merkle
 * tree and signed-note code: WebCrypto here is Node's globalThis.crypto.
 */

const signer = noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, 'glasshouse.example/control');
const other = noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, 'glasshouse.example/control');
const entries = Array.from({ length: 13 }, (_, i) =>
  JSON.stringify({ request: `r${i}`, event: 'completed' }),
);
const store = new MemoryHashStore();

beforeAll(async () => {
  for (const entry of entries) await store.append(Buffer.from(entry, 'utf8'));
});

async function receiptLog(index: number, treeSize: number): Promise<ReceiptLog> {
  const proof = await proveInclusion(index, treeSize, store.read);
  const rootHash = await treeHash(treeSize, store.read);
  return {
    node: 'control',
    entry: entries[index]!,
    index,
    treeSize,
    proof: proof.map((h) => h.toString('base64')),
    checkpoint: signer.sign(formatCheckpoint({ origin: signer.name, treeSize, rootHash })),
  };
}

function flipFirstByte(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[0] = bytes[0]! ^ 0x01;
  return bytes.toString('base64');
}

describe("the console's receipt check", () => {
  it('verifies the inclusion of every entry in every tree size that holds it', async () => {
    for (let size = 1; size <= entries.length; size++) {
      for (let index = 0; index < size; index++) {
        const result = await verifyReceiptLog(await receiptLog(index, size));
        expect(result.ok, `${index} in ${size}`).toBe(true);
      }
    }
  });

  it('verifies the checkpoint signature with the log key, and refuses another key', async () => {
    const log = await receiptLog(5, 13);
    const signed = await verifyReceiptLog(log, signer.verifierKey);
    expect(signed).toMatchObject({ ok: true, signature: { status: 'verified', keyName: signer.name } });
    const unsigned = await verifyReceiptLog(log);
    expect(unsigned).toMatchObject({ ok: true, signature: { status: 'not-checked' } });
    const wrong = await verifyReceiptLog(log, other.verifierKey);
    expect(wrong).toMatchObject({ ok: true, signature: { status: 'failed' } });
    const forged = await verifyReceiptLog(
      { ...log, checkpoint: log.checkpoint.replace('\n13\n', '\n14\n') },
      signer.verifierKey,
    );
    expect(forged.ok).toBe(false);
  });

  it("reads verifier keys whose base64 holds '+' and '/'", async () => {
    const log = await receiptLog(2, 7);
    let found = 0;
    for (let tried = 0; found < 3 && tried < 500; tried++) {
      const key = noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, signer.name);
      if (!/[+/]/.test(key.verifierKey.split('+').slice(2).join('+'))) continue;
      found++;
      const signed = {
        ...log,
        checkpoint: key.sign(log.checkpoint.slice(0, log.checkpoint.indexOf('\n\n') + 1)),
      };
      expect(await verifyReceiptLog(signed, key.verifierKey)).toMatchObject({
        ok: true,
        signature: { status: 'verified' },
      });
    }
    expect(found).toBe(3);
  });

  it('names the exact mismatch of a changed entry, proof hash, index or checkpoint', async () => {
    const log = await receiptLog(6, 13);
    const changedEntry = await verifyReceiptLog({ ...log, entry: log.entry.replace('r6', 'r7') });
    expect(changedEntry).toMatchObject({
      ok: false,
      mismatch: expect.stringContaining('the proof leads to the root'),
    });
    const changedHash = await verifyReceiptLog({
      ...log,
      proof: [flipFirstByte(log.proof[0]!), ...log.proof.slice(1)],
    });
    expect(changedHash).toMatchObject({
      ok: false,
      mismatch: expect.stringContaining("the checkpoint's root is"),
    });
    const shortProof = await verifyReceiptLog({ ...log, proof: log.proof.slice(1) });
    expect(shortProof).toMatchObject({ ok: false, mismatch: expect.stringContaining('fewer hashes') });
    const longProof = await verifyReceiptLog({ ...log, proof: [...log.proof, log.proof[0]!] });
    expect(longProof).toMatchObject({ ok: false, mismatch: expect.stringContaining('more hashes') });
    const outside = await verifyReceiptLog({ ...log, index: 13 });
    expect(outside).toMatchObject({ ok: false, mismatch: expect.stringContaining('not inside a tree') });
    const otherSize = await verifyReceiptLog({ ...log, treeSize: 12 });
    expect(otherSize).toMatchObject({
      ok: false,
      mismatch: expect.stringContaining('the checkpoint for 13'),
    });
    const notANote = await verifyReceiptLog({ ...log, checkpoint: 'nothing' });
    expect(notANote).toMatchObject({ ok: false, mismatch: expect.stringContaining('not a signed note') });
  });
});
