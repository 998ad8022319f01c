import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../../test/support/thrown-code.js';
import { NoteError, type NoteErrorCode } from './note-errors.js';
import {
  isValidKeyName,
  loadNoteSigner,
  noteKeyId,
  noteSignerFromKey,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  SIGNED_NOTE_MAX_SIGNATURES,
  signerKeyText,
  verifierKeyText,
} from './signed-note.js';

interface GoVectors {
  readonly peterNeumann: GoKey & { readonly signerKey: string };
  readonly enochRoot: GoKey;
  readonly text: string;
  readonly signedNote: string;
  readonly badVerifierKeys: readonly { readonly why: string; readonly key: string }[];
  readonly malformedNotes: readonly { readonly why: string; readonly note: string }[];
}
interface GoKey {
  readonly name: string;
  readonly keyId: string;
  readonly verifierKey: string;
  readonly signatureLine: string;
  readonly tamperedSignatureLine: string;
}
interface C2spExamples {
  readonly signedNote: { readonly note: string; readonly text: string; readonly signerName: string };
}

// Test data comes from Go's golang.org/x/mod/sumdb/note tests and the C2SP spec (see testdata/note/README.md).
const go = readJson<GoVectors>('go-sumdb-note-vectors.json');
const c2sp = readJson<C2spExamples>('c2sp-examples.json');
const peter = parseVerifierKey(go.peterNeumann.verifierKey);
const enoch = parseVerifierKey(go.enochRoot.verifierKey);
const bothSigned = `${go.text}\n${go.peterNeumann.signatureLine}${go.enochRoot.signatureLine}`;

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(new URL(`../../../testdata/note/${file}`, import.meta.url), 'utf8')) as T;
}

const codeOf = (action: () => unknown): NoteErrorCode | 'NO_ERROR' =>
  thrownCode(action, NoteError) ?? 'NO_ERROR';

function freshSigner(name = 'glasshouse.example/control') {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return loadNoteSigner(pem, name);
}

/** Every proper substring and every one-character increment, as Go's TestNewVerifier mangles keys. */
function manglings(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i <= text.length; i++) {
    for (let j = i + 1; j <= text.length; j++) if (i !== 0 || j !== text.length) out.push(text.slice(i, j));
  }
  for (let i = 0; i < text.length; i++) {
    out.push(text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) + 1) + text.slice(i + 1));
  }
  return out;
}

describe('noteKeyId', () => {
  describe("when given Go's PeterNeumann key", () => {
    it('returns the published key ID', () => {
      expect(noteKeyId(peter.name, peter.publicKey).toString('hex')).toBe(go.peterNeumann.keyId);
    });
  });

  describe('when the public key is not 32 bytes', () => {
    it('throws INVALID_KEY', () => {
      expect(codeOf(() => noteKeyId('a', Buffer.alloc(31)))).toBe('INVALID_KEY');
    });
  });
});

describe('verifierKeyText', () => {
  describe("when given Go's PeterNeumann name and key", () => {
    it("reproduces Go's verifier key text", () => {
      expect(verifierKeyText(peter.name, peter.publicKey)).toBe(go.peterNeumann.verifierKey);
    });
  });

  describe('when any valid name and key are formatted and parsed', () => {
    it('round-trips', () => {
      const name = fc.string({ minLength: 1 }).filter(isValidKeyName);
      fc.assert(
        fc.property(name, fc.uint8Array({ minLength: 32, maxLength: 32 }), (keyName, key) => {
          const parsed = parseVerifierKey(verifierKeyText(keyName, Buffer.from(key)));
          expect(parsed.name).toBe(keyName);
          expect(parsed.publicKey.equals(Buffer.from(key))).toBe(true);
          expect(parsed.keyId.equals(noteKeyId(keyName, Buffer.from(key)))).toBe(true);
        }),
      );
    });
  });

  describe('when the name breaks the C2SP signed-note rules', () => {
    it.each(['', 'a b', 'a+b', 'a\tb', 'a\nb', 'a\u3000b', 'a\u00a0b', 'a\u0085b', 'a\u0001b'])(
      'throws INVALID_KEY for %j',
      (name) => {
        expect(codeOf(() => verifierKeyText(name, peter.publicKey))).toBe('INVALID_KEY');
      },
    );
  });
});

describe('parseVerifierKey', () => {
  describe("when given Go's published keys", () => {
    it('returns their names, key IDs and keys', () => {
      expect(peter.name).toBe('PeterNeumann');
      expect(peter.keyId.toString('hex')).toBe(go.peterNeumann.keyId);
      expect(enoch.keyId.toString('hex')).toBe(go.enochRoot.keyId);
    });
  });

  describe('when the key ID is upper-case hex', () => {
    it('accepts it, as Go does', () => {
      const upper = go.peterNeumann.verifierKey.replace(
        go.peterNeumann.keyId,
        go.peterNeumann.keyId.toUpperCase(),
      );
      expect(parseVerifierKey(upper).keyId.toString('hex')).toBe(go.peterNeumann.keyId);
    });
  });

  describe("when given Go's bad keys (wrong length, unknown algorithm)", () => {
    it.each(go.badVerifierKeys)('throws INVALID_KEY: $why', ({ key }) => {
      expect(codeOf(() => parseVerifierKey(key))).toBe('INVALID_KEY');
    });
  });

  describe('when the key text is truncated or has one character changed', () => {
    it('throws INVALID_KEY for every mangling', () => {
      const accepted = manglings(go.peterNeumann.verifierKey).filter(
        (key) => codeOf(() => parseVerifierKey(key)) !== 'INVALID_KEY',
      );
      expect(accepted).toEqual([]);
    });
  });
});

describe('parseSignerKey', () => {
  describe("when given Go's PeterNeumann signer key", () => {
    it("signs the Neumann quote byte for byte as Go's TestSign expects", () => {
      const signer = parseSignerKey(go.peterNeumann.signerKey);
      expect(signer.verifierKey).toBe(go.peterNeumann.verifierKey);
      expect(signer.sign(go.text)).toBe(go.signedNote);
    });
  });

  describe('when the signer key is truncated or has one character changed', () => {
    it('throws INVALID_KEY for every mangling', () => {
      const accepted = manglings(go.peterNeumann.signerKey).filter(
        (key) => codeOf(() => parseSignerKey(key)) !== 'INVALID_KEY',
      );
      expect(accepted).toEqual([]);
    });
  });
});

describe('loadNoteSigner', () => {
  describe('when given a PKCS #8 PEM Ed25519 key, as the data directory stores it', () => {
    it('signs notes that its verifier key text verifies', () => {
      const signer = freshSigner();
      const opened = openNote(signer.sign('hello\n'), [parseVerifierKey(signer.verifierKey)]);
      expect(opened.text).toBe('hello\n');
      expect(opened.signatures).toEqual([{ name: signer.name, keyId: signer.keyId }]);
    });

    it("exports Go's signer key text for the same key", () => {
      const { privateKey } = generateKeyPairSync('ed25519');
      const signer = noteSignerFromKey(privateKey, 'glasshouse.example/zurich');
      const roundTripped = parseSignerKey(signerKeyText('glasshouse.example/zurich', privateKey));
      expect(roundTripped.verifierKey).toBe(signer.verifierKey);
      expect(roundTripped.sign('x\n')).toBe(signer.sign('x\n'));
    });
  });

  describe('when the PEM is not a private key', () => {
    it('throws INVALID_KEY', () => {
      expect(codeOf(() => loadNoteSigner('not a key', 'a'))).toBe('INVALID_KEY');
    });
  });

  describe('when the key is not Ed25519', () => {
    it('throws INVALID_KEY', () => {
      const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString();
      expect(codeOf(() => loadNoteSigner(pem, 'a'))).toBe('INVALID_KEY');
    });
  });

  describe('when the key name is invalid', () => {
    it('throws INVALID_KEY', () => {
      expect(codeOf(() => freshSigner('glasshouse control'))).toBe('INVALID_KEY');
    });
  });
});

describe('NoteSigner.sign', () => {
  const signer = freshSigner();

  describe('when the text does not end in a newline, or holds a control character or lone surrogate', () => {
    it.each(['', 'no newline', 'a\r\n', 'tab\there\n', 'lone \ud800 surrogate\n'])(
      'throws MALFORMED_NOTE for %j',
      (text) => {
        expect(codeOf(() => signer.sign(text))).toBe('MALFORMED_NOTE');
      },
    );
  });

  describe('when any note-safe text is signed and opened', () => {
    it('returns the same text', () => {
      const unit = fc.oneof(
        fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
        fc.constantFrom('\n', '\n\n', 'é', '\u2014', '😀', '\u2028', '\ufeff', '+'),
      );
      fc.assert(
        fc.property(fc.string({ unit }), (body) => {
          const text = `${body}\n`;
          expect(openNote(signer.sign(text), [signer]).text).toBe(text);
        }),
      );
    });
  });

  describe('when the text holds blank lines, like the C2SP signed-note example', () => {
    it('keeps them in the text: signatures start after the last blank line', () => {
      expect(openNote(signer.sign(c2sp.signedNote.text), [signer]).text).toBe(c2sp.signedNote.text);
    });
  });
});

describe('openNote', () => {
  describe('when one of two signers is trusted', () => {
    it('returns the text, the verified signature, and the other as unverified', () => {
      const opened = openNote(bothSigned, [peter]);
      expect(opened.text).toBe(go.text);
      expect(opened.signatures).toEqual([{ name: peter.name, keyId: peter.keyId }]);
      expect(opened.unverifiedSignatures).toEqual([{ name: enoch.name, keyId: enoch.keyId }]);
    });
  });

  describe('when both signers are trusted', () => {
    it('returns both signatures in note order', () => {
      expect(openNote(bothSigned, [enoch, peter]).signatures.map((s) => s.name)).toEqual([
        'PeterNeumann',
        'EnochRoot',
      ]);
    });
  });

  describe('when the note is given as UTF-8 bytes', () => {
    it('verifies the same signatures', () => {
      expect(openNote(Buffer.from(bothSigned, 'utf8'), [peter]).text).toBe(go.text);
    });
  });

  describe('when no signer is trusted', () => {
    it('throws UNVERIFIED_NOTE', () => {
      expect(codeOf(() => openNote(bothSigned, []))).toBe('UNVERIFIED_NOTE');
      expect(codeOf(() => openNote(c2sp.signedNote.note, [peter]))).toBe('UNVERIFIED_NOTE');
    });

    it('says the note is signed by another key, naming the signer and the key given', () => {
      const ours = freshSigner('glasshouse-a1b2c3d4/control');
      const theirs = freshSigner('glasshouse-99aa88bb/control');
      const note = ours.sign('glasshouse-a1b2c3d4/control\n1\nAAAA\n');
      const label = (v: { name: string; keyId: Buffer }) => `${v.name}+${v.keyId.toString('hex')}`;
      let error: unknown;
      try {
        openNote(note, [parseVerifierKey(theirs.verifierKey)]);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(NoteError);
      expect((error as NoteError).message).toContain('signed by another key');
      expect((error as NoteError).message).toContain(label(parseVerifierKey(ours.verifierKey)));
      expect((error as NoteError).message).toContain(label(parseVerifierKey(theirs.verifierKey)));
    });
  });

  describe("when given Go's malformed notes", () => {
    it.each(go.malformedNotes)('throws MALFORMED_NOTE: $why', ({ note }) => {
      expect(codeOf(() => openNote(note, [peter]))).toBe('MALFORMED_NOTE');
    });

    it('throws MALFORMED_NOTE for bytes that are not UTF-8', () => {
      const bytes = Buffer.concat([Buffer.of(0xff), Buffer.from(go.signedNote, 'utf8')]);
      expect(codeOf(() => openNote(bytes, [peter]))).toBe('MALFORMED_NOTE');
    });
  });

  describe('when a note carries more signatures than the limit', () => {
    it(`accepts ${SIGNED_NOTE_MAX_SIGNATURES} and throws MALFORMED_NOTE beyond`, () => {
      const lines = (count: number) => `${go.text}\n${go.peterNeumann.signatureLine.repeat(count)}`;
      expect(openNote(lines(SIGNED_NOTE_MAX_SIGNATURES), [peter]).signatures).toHaveLength(1);
      expect(codeOf(() => openNote(lines(SIGNED_NOTE_MAX_SIGNATURES + 1), [peter]))).toBe('MALFORMED_NOTE');
      expect(codeOf(() => openNote(lines(SIGNED_NOTE_MAX_SIGNATURES + 1), []))).toBe('MALFORMED_NOTE');
    });
  });

  describe("when a trusted key's signature is tampered with (Go's ABCD splice)", () => {
    it('throws INVALID_SIGNATURE', () => {
      const note = `${go.text}\n${go.peterNeumann.tamperedSignatureLine}`;
      expect(codeOf(() => openNote(note, [peter]))).toBe('INVALID_SIGNATURE');
    });
  });

  describe('when a trusted key signed twice and an unknown key signed twice and once badly', () => {
    it('reports each trusted key once and each distinct unknown line', () => {
      const e = go.enochRoot;
      const p = go.peterNeumann.signatureLine;
      const opened = openNote(
        `${go.text}\n${p}${p}${e.signatureLine}${e.signatureLine}${e.tamperedSignatureLine}`,
        [peter],
      );
      expect(opened.signatures).toHaveLength(1);
      expect(opened.unverifiedSignatures).toHaveLength(2);
    });
  });

  describe('when the signed text is changed', () => {
    it('throws INVALID_SIGNATURE', () => {
      const note = go.signedNote.replace('cryptography', 'Cryptography');
      expect(codeOf(() => openNote(note, [peter]))).toBe('INVALID_SIGNATURE');
    });
  });

  describe('when the signature line names the key but with another key ID, or the ID under another name', () => {
    it('ignores the signature as unknown and throws UNVERIFIED_NOTE', () => {
      const otherId = go.signedNote.replace('x08go', 'x08gp');
      const otherName = go.signedNote.replace('— PeterNeumann', '— PeterNeuman');
      expect(codeOf(() => openNote(otherId, [peter]))).toBe('UNVERIFIED_NOTE');
      expect(codeOf(() => openNote(otherName, [peter]))).toBe('UNVERIFIED_NOTE');
    });
  });

  describe('when the signature is truncated to fewer than 64 bytes', () => {
    it('throws INVALID_SIGNATURE', () => {
      const signer = freshSigner();
      const line = signer.sign('x\n').split('\n')[2] ?? '';
      const bytes = Buffer.from(line.split(' ')[2] ?? '', 'base64');
      const short = `x\n\n\u2014 ${signer.name} ${bytes.subarray(0, 67).toString('base64')}\n`;
      expect(codeOf(() => openNote(short, [signer]))).toBe('INVALID_SIGNATURE');
    });
  });

  describe('when the signature base64 is not canonical (non-zero pad bits)', () => {
    it('throws MALFORMED_NOTE', () => {
      const note = go.signedNote.replace('JnAM=', 'JnAN=');
      expect(codeOf(() => openNote(note, [peter]))).toBe('MALFORMED_NOTE');
    });
  });

  describe("when a trusted verifier's key ID does not match its name and key", () => {
    it('throws INVALID_KEY', () => {
      const forged = { ...peter, keyId: enoch.keyId };
      expect(codeOf(() => openNote(go.signedNote, [forged]))).toBe('INVALID_KEY');
    });
  });
});
