import { createHash, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../../test/support/thrown-code.js';
import {
  cosignedMessage,
  cosignerFromKey,
  cosignerKeyId,
  openCosignatures,
  parseCosignerVerifierKey,
} from './cosignature.js';
import { NoteError } from './note-errors.js';
import { loadNoteSigner, openNote } from './signed-note.js';

/** RFC 8410 §7: PKCS #8 of an Ed25519 seed, so the vector's key is fixed. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const seed = Buffer.alloc(32, 7);
const witnessKey = createPrivateKey({
  key: Buffer.concat([PKCS8_PREFIX, seed]),
  format: 'der',
  type: 'pkcs8',
});
const witness = cosignerFromKey(witnessKey, 'witness.example/w1');
// The checkpoint body and timestamp of the C2SP tlog-cosignature §Ed25519 signed message example.
const body = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
const TIME = 1679315147;
// Our own regression vector (Ed25519 signatures are deterministic); Go's standard library
// checks the same format independently in test/interop/go-cosignature.test.ts.
const VECTOR_LINE =
  '\u2014 witness.example/w1 qkoJ0QAAAABkGFDLWr4Jea05CAgwNVtwky0Jgz6WfX0QJgM//FkB/W9BoT9TX0DkTxG+2cT4p/ViKNhUM/SnUwFcYQzugGFQ15LwDw==\n';

function freshLogSigner() {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return loadNoteSigner(pem, 'example.com/behind-the-sofa');
}

describe('cosignature/v1', () => {
  describe('when computing the key ID', () => {
    it('is the first 4 bytes of SHA-256(name, newline, 0x04, public key)', () => {
      const expected = createHash('sha256')
        .update(Buffer.concat([Buffer.from('witness.example/w1\n'), Buffer.of(0x04), witness.publicKey]))
        .digest()
        .subarray(0, 4);
      expect(cosignerKeyId(witness.name, witness.publicKey)).toEqual(expected);
      expect(witness.verifierKey).toBe(
        'witness.example/w1+aa4a09d1+BOpKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs',
      );
    });
  });

  describe('when signing', () => {
    it('signs the header line, the time line and the checkpoint body', () => {
      expect(cosignedMessage(body, TIME).toString()).toBe(`cosignature/v1\ntime 1679315147\n${body}`);
    });

    it('writes key ID, big-endian timestamp and signature on one signature line', () => {
      const line = witness.cosign(body, TIME);
      expect(line).toBe(VECTOR_LINE);
      const bytes = Buffer.from(line.trim().split(' ').at(-1)!, 'base64');
      expect(bytes.length).toBe(4 + 8 + 64);
      expect(bytes.subarray(0, 4)).toEqual(witness.keyId);
      expect(bytes.readBigUInt64BE(4)).toBe(BigInt(TIME));
    });
  });

  describe('when opening a checkpoint the log signed and a witness cosigned', () => {
    const log = freshLogSigner();
    const signed = log.sign(body);
    const cosigned = `${signed}${witness.cosign(body, TIME)}`;
    const trusted = [parseCosignerVerifierKey(witness.verifierKey)];

    it('returns the witness with its timestamp', () => {
      expect(openCosignatures(cosigned, trusted)).toEqual([
        { name: witness.name, keyId: witness.keyId, timestamp: TIME },
      ]);
    });

    it('still opens as a signed note of the log, the cosignature ignored', () => {
      expect(openNote(cosigned, [log]).unverifiedSignatures).toEqual([
        { name: witness.name, keyId: witness.keyId },
      ]);
    });

    it('finds no cosignature by a witness that did not cosign', () => {
      const other = cosignerFromKey(generateKeyPairSync('ed25519').privateKey, 'witness.example/w2');
      expect(openCosignatures(cosigned, [other])).toEqual([]);
    });

    it('rejects a cosignature over another checkpoint', () => {
      const forged = cosigned.replace('20852163', '20852164');
      expect(thrownCode(() => openCosignatures(forged, trusted), NoteError)).toBe('INVALID_SIGNATURE');
    });

    it('rejects a cosignature whose timestamp was changed', () => {
      const line = witness.cosign(body, TIME);
      const bytes = Buffer.from(line.trim().split(' ').at(-1)!, 'base64');
      bytes.writeBigUInt64BE(BigInt(TIME + 1), 4);
      const changed = `${signed}\u2014 ${witness.name} ${bytes.toString('base64')}\n`;
      expect(thrownCode(() => openCosignatures(changed, trusted), NoteError)).toBe('INVALID_SIGNATURE');
    });
  });

  describe('when parsing a witness key', () => {
    it('reads back the key it wrote', () => {
      const parsed = parseCosignerVerifierKey(witness.verifierKey);
      expect(parsed.publicKey).toEqual(witness.publicKey);
      expect(parsed.keyId).toEqual(witness.keyId);
    });

    it.each([
      ['a log key (type 0x01)', freshLogSigner().verifierKey],
      ['a wrong key ID', witness.verifierKey.replace('+aa4a09d1+', '+aa4a09d2+')],
      ['another name', witness.verifierKey.replace('witness.example/w1', 'witness.example/w9')],
      ['no key ID', 'witness.example/w1+BOpKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs'],
    ])('refuses %s', (_, text) => {
      expect(thrownCode(() => parseCosignerVerifierKey(text), NoteError)).toBe('INVALID_KEY');
    });
  });
});
