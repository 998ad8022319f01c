import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../../test/support/thrown-code.js';
import { formatCheckpoint, openCheckpoint, parseCheckpoint } from './checkpoint.js';
import { NoteError, type NoteErrorCode } from './note-errors.js';
import { noteSignerFromKey } from './signed-note.js';

interface C2spExamples {
  readonly checkpoint: {
    readonly note: string;
    readonly origin: string;
    readonly treeSize: number;
    readonly rootHash: string;
  };
}

// Test data comes from the example of C2SP tlog-checkpoint (see testdata/note/README.md).
const example = (
  JSON.parse(
    readFileSync(new URL('../../../testdata/note/c2sp-examples.json', import.meta.url), 'utf8'),
  ) as C2spExamples
).checkpoint;
const exampleText = example.note.slice(0, example.note.lastIndexOf('\n\n') + 1);
const rootHash = Buffer.from(example.rootHash, 'base64');
const signer = noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, 'glasshouse.example/control');

const codeOf = (action: () => unknown): NoteErrorCode | 'NO_ERROR' =>
  thrownCode(action, NoteError) ?? 'NO_ERROR';

describe('formatCheckpoint', () => {
  describe('when given the C2SP example checkpoint', () => {
    it('reproduces its note text', () => {
      expect(formatCheckpoint({ origin: example.origin, treeSize: example.treeSize, rootHash })).toBe(
        exampleText,
      );
    });
  });

  describe('when given extension lines', () => {
    it('appends them after the root hash', () => {
      const text = formatCheckpoint({ origin: 'o', treeSize: 0, rootHash, extensions: ['ext 1', 'ext 2'] });
      expect(text).toBe(`o\n0\n${example.rootHash}\next 1\next 2\n`);
    });
  });

  describe('when any valid checkpoint is formatted and parsed', () => {
    it('round-trips', () => {
      const unit = fc.oneof(
        fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
        fc.constantFrom('é', '\u2014', '😀', '\u00a0'),
      );
      const line = fc.string({ unit, minLength: 1 });
      fc.assert(
        fc.property(
          line,
          fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.array(line, { maxLength: 3 }),
          (origin, treeSize, hash, extensions) => {
            const parsed = parseCheckpoint(
              formatCheckpoint({ origin, treeSize, rootHash: hash, extensions }),
            );
            expect(parsed).toEqual({ origin, treeSize, rootHash: Buffer.from(hash), extensions });
          },
        ),
      );
    });
  });

  describe('when a field is out of the format', () => {
    it.each([
      ['an empty origin', { origin: '', treeSize: 1, rootHash }],
      ['an origin with a newline', { origin: 'a\nb', treeSize: 1, rootHash }],
      ['a negative size', { origin: 'o', treeSize: -1, rootHash }],
      ['a fractional size', { origin: 'o', treeSize: 1.5, rootHash }],
      ['a size beyond 2^53 - 1', { origin: 'o', treeSize: 2 ** 53, rootHash }],
      ['a 31-byte hash', { origin: 'o', treeSize: 1, rootHash: rootHash.subarray(1) }],
      ['an empty extension', { origin: 'o', treeSize: 1, rootHash, extensions: [''] }],
    ])('throws MALFORMED_CHECKPOINT for %s', (_, checkpoint) => {
      expect(codeOf(() => formatCheckpoint(checkpoint))).toBe('MALFORMED_CHECKPOINT');
    });
  });
});

describe('parseCheckpoint', () => {
  describe('when given the C2SP example checkpoint', () => {
    it('returns its origin, size and root hash', () => {
      expect(parseCheckpoint(exampleText)).toEqual({
        origin: example.origin,
        treeSize: example.treeSize,
        rootHash,
        extensions: [],
      });
    });
  });

  describe('when the tree is empty', () => {
    it('accepts the size 0', () => {
      expect(parseCheckpoint(`o\n0\n${example.rootHash}\n`).treeSize).toBe(0);
    });
  });

  describe('when the text breaks C2SP tlog-checkpoint §Note text', () => {
    const hash = example.rootHash;
    it.each([
      ['a leading zero', `o\n01\n${hash}\n`],
      ['a signed size', `o\n+1\n${hash}\n`],
      ['an exponent', `o\n1e3\n${hash}\n`],
      ['a space in the size', `o\n 1\n${hash}\n`],
      ['a size beyond 2^53 - 1', `o\n9007199254740992\n${hash}\n`],
      ['a 31-byte hash', `o\n1\n${rootHash.subarray(1).toString('base64')}\n`],
      ['an unpadded hash', `o\n1\n${hash.replace('=', '')}\n`],
      ['a hash with non-zero pad bits', `o\n1\n${hash.replace('2I=', '2J=')}\n`],
      ['two lines', `o\n1\n`],
      ['an empty origin', `\n1\n${hash}\n`],
      ['an empty extension line', `o\n1\n${hash}\n\n`],
      ['no final newline', `o\n1\n${hash}`],
      ['CRLF line ends', `o\r\n1\r\n${hash}\r\n`],
    ])('throws MALFORMED_CHECKPOINT for %s', (_, text) => {
      expect(codeOf(() => parseCheckpoint(text))).toBe('MALFORMED_CHECKPOINT');
    });
  });
});

describe('openCheckpoint', () => {
  const signed = signer.sign(formatCheckpoint({ origin: signer.name, treeSize: 42, rootHash }));

  describe('when the checkpoint is signed by a trusted key', () => {
    it('returns the checkpoint and its signatures', () => {
      const opened = openCheckpoint(signed, [signer], { origin: signer.name });
      expect(opened).toMatchObject({ origin: signer.name, treeSize: 42, rootHash });
      expect(opened.signatures).toEqual([{ name: signer.name, keyId: signer.keyId }]);
    });
  });

  describe('when the checkpoint is for another origin', () => {
    it('throws UNEXPECTED_ORIGIN', () => {
      expect(codeOf(() => openCheckpoint(signed, [signer], { origin: 'elsewhere' }))).toBe(
        'UNEXPECTED_ORIGIN',
      );
    });
  });

  describe('when the signed text is not a checkpoint', () => {
    it('throws MALFORMED_CHECKPOINT', () => {
      expect(codeOf(() => openCheckpoint(signer.sign('hello\n'), [signer]))).toBe('MALFORMED_CHECKPOINT');
    });
  });

  describe('when the C2SP example is opened without its (unpublished) key', () => {
    it('throws UNVERIFIED_NOTE', () => {
      expect(codeOf(() => openCheckpoint(example.note, [signer]))).toBe('UNVERIFIED_NOTE');
    });
  });
});
