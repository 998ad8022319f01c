import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DIGEST_BYTES, VERDICT_HASH_KINDS, type VerdictName } from './verdict.js';
import { VerdictIndex } from './verdict-index.js';

/*
 * The batch answer is written from pre-encoded bytes, the single line as text: both must say
 * the same thing for every line a client can send.
 */

const THREATS = ['', 'Win32.Emotet', 'Trojan "quoted" \\ name', 'Троян.Ботнет', '木马 🐴'];
const VERDICTS: VerdictName[] = ['malicious', 'suspicious', 'clean'];

function indexOf(count: number): { index: VerdictIndex; known: string[] } {
  const index = new VerdictIndex();
  index.addThreats(THREATS.map((name, id) => ({ id, name })).slice(1));
  const known: string[] = [];
  for (let n = 0; n < count; n += 1) {
    const kind = VERDICT_HASH_KINDS[n % VERDICT_HASH_KINDS.length]!;
    const digest = Buffer.alloc(DIGEST_BYTES[kind], n + 1);
    digest.writeUInt32BE((n * 2_654_435_761) >>> 0, 0);
    index.apply([
      {
        kind,
        digest,
        verdict: VERDICTS[n % VERDICTS.length]!,
        threatId: n % THREATS.length,
        // Midnights and odd seconds, from 1970 to beyond 2100.
        firstSeen: n % 2 === 0 ? (n * 86_400 * 97) % 4_200_000_000 : n * 12_345_677,
      },
    ]);
    known.push(digest.toString('hex'));
  }
  return { index, known };
}

const { index, known } = indexOf(300);

const line = fc.oneof(
  fc.constantFrom(...known),
  fc.constantFrom(...known).map((hex) => hex.toUpperCase()),
  fc.constantFrom(32, 40, 64).chain((length) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{${length}}$`))),
  fc.string({ unit: 'grapheme', maxLength: 70 }).filter((text) => !text.includes('\n')),
  fc.constantFrom('', ' ', `${known[0]} `, `${known[1]}g`.slice(1)),
);

describe('VerdictIndex.answerLines', () => {
  it('answers every line as lookupLine does, whatever the line ends and the final break', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ text: line, cr: fc.boolean() }), { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        (lines, finalBreak) => {
          const body =
            lines
              .map(({ text, cr }, i) => (cr && (i < lines.length - 1 || finalBreak) ? `${text}\r` : text))
              .join('\n') + (finalBreak ? '\n' : '');
          fc.pre(body !== ''); // no line at all: the route refuses an empty batch before this
          // The reference reading of a batch: lines split at LF, a CR before it dropped, and a
          // final break starting no empty line.
          const sent = body.split('\n').map((text) => text.replace(/\r$/, ''));
          if (body.endsWith('\n')) sent.pop();
          const expected = sent.map((text) => index.lookupLine(text)).join('');
          expect(index.answerLines(body, sent.length)?.toString('utf8')).toBe(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('answers the same from the body as bytes as from its text, invalid UTF-8 included', () => {
    const piece = fc.oneof(
      line.map((text) => Buffer.from(text)),
      fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
      fc.constantFrom(...['\n', '\r\n', '\r', '\xff', '\xe2\x82'].map((text) => Buffer.from(text, 'latin1'))),
    );
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 30 }), (pieces) => {
        const body = Buffer.concat(pieces);
        const fromText = index.answerLines(body.toString('utf8'), 1000);
        expect(index.answerLines(body, 1000)?.toString('utf8')).toBe(fromText?.toString('utf8'));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a batch of more lines than allowed, and answers one of exactly that many', () => {
    const body = known.slice(0, 5).join('\n');
    expect(index.answerLines(body, 4)).toBeUndefined();
    expect(index.answerLines(body, 5)?.toString('utf8').split('\n')).toHaveLength(6);
  });

  it('names the verdict, the threat and the first-seen time of a known hash', () => {
    const answer = JSON.parse(index.answerLines(known[1]!, 1)!.toString('utf8'));
    const { hash: _hash, ...members } = index.lookup(known[1]!);
    expect(answer).toEqual(members); // the line leaves the hash out: it is the request's line
    expect(answer).toMatchObject({ verdict: 'suspicious', threat: 'Win32.Emotet' });
  });
});
