import { generateKeyPairSync, sign } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseSignedCheckpoint } from '../../console/src/ledger/note.js';
import { checkCosignature, parseWitnessKey } from '../../console/src/report-verify/cosignatures.js';
import { cosignerFromKey, formatCheckpoint, noteSignerFromKey } from '../../src/ledger/note/index.js';

/*
 * The report page's signature code (console/src/report-verify), in Node's WebCrypto, against
 * the server's own cosigner: a cosignature the server makes checks, an altered one does not,
 * and without WebCrypto Ed25519 the @noble/ed25519 fallback gives the same answers.
 */

const ORIGIN = 'glasshouse-test/control';
const log = noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, ORIGIN);
const witness = cosignerFromKey(generateKeyPairSync('ed25519').privateKey, 'witness.test/w1');
const body = formatCheckpoint({ origin: ORIGIN, treeSize: 7, rootHash: Buffer.alloc(32, 3) });
const signed = log.sign(body);
const cosigned = signed + witness.cosign(body, 1_700_000_000);

afterEach(() => {
  vi.restoreAllMocks();
  vi.resetModules();
});

describe('the report page’s cosignature check', () => {
  it('accepts the server’s cosignature with the witness key, with its time', async () => {
    const key = await parseWitnessKey(witness.verifierKey);
    expect(key.keyId).toBe(witness.keyId.toString('hex'));
    const check = await checkCosignature(parseSignedCheckpoint(cosigned), key);
    expect(check).toMatchObject({ outcome: 'cosigned', timestamp: 1_700_000_000 });
  });

  it('tells a missing cosignature from one that does not verify', async () => {
    const key = await parseWitnessKey(witness.verifierKey);
    expect((await checkCosignature(parseSignedCheckpoint(signed), key)).outcome).toBe('missing');
    const otherBody = body.replace('\n7\n', '\n8\n');
    const moved = signed + witness.cosign(otherBody, 1_700_000_000);
    expect((await checkCosignature(parseSignedCheckpoint(moved), key)).outcome).toBe('invalid');
  });

  it('refuses a witness key whose key ID does not match', async () => {
    // The base64 key may itself hold a '+': only the first two separate the fields.
    const [name, id] = witness.verifierKey.split('+', 2);
    const key = witness.verifierKey.slice(`${name}+${id}+`.length);
    await expect(parseWitnessKey(`${name}+00000000+${key}`)).rejects.toThrow('key ID');
  });
});

describe('Ed25519 without WebCrypto’s', () => {
  it('falls back to @noble/ed25519 with the same answers', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32));
    const message = new TextEncoder().encode('a checkpoint body\n');
    const signature = new Uint8Array(sign(null, message, privateKey));
    const importKey = vi
      .spyOn(crypto.subtle, 'importKey')
      .mockRejectedValue(new DOMException('no Ed25519 here', 'NotSupportedError'));
    const { verifyEd25519 } = await import('../../console/src/report-verify/ed25519.js');
    expect(await verifyEd25519(raw, signature, message)).toBe(true);
    const altered = signature.slice();
    altered[0]! ^= 1;
    expect(await verifyEd25519(raw, altered, message)).toBe(false);
    expect(importKey).toHaveBeenCalled();
  });
});
