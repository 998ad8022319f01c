import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VerdictInput } from './verdict.js';
import { type FeedFormat, MAX_REPORTED_BAD_LINES, readFeed } from './verdict-import.js';

const MD5 = '44d88612fea8a8f36de82e1278abb02f';
const SHA1 = '3395856ce81f2b7382dee72602f798b642f14140';

async function read(text: string | Buffer | string[], format: FeedFormat, keepGoodAfterBad = false) {
  const rows: VerdictInput[] = [];
  const chunks = Array.isArray(text) ? text : [text];
  const report = await readFeed(
    (async function* () {
      for (const chunk of chunks) yield Buffer.from(chunk);
    })(),
    {
      format,
      now: 1_700_000_000,
      source: 'default',
      rows: (batch) => void rows.push(...batch),
      keepGoodAfterBad,
    },
  );
  return { rows, report };
}

describe('readFeed', () => {
  describe('when NDJSON lines are good', () => {
    it('reads each, with defaults for missing times and source, across chunk boundaries', async () => {
      const text = `{"hash":"${MD5}","verdict":"malicious","threat":"EICAR","firstSeen":"2020-01-01"}\r\n\n{"hash":"${SHA1.toUpperCase()}","verdict":"clean","source":"s"}\n`;
      const { rows, report } = await read([text.slice(0, 17), text.slice(17, 70), text.slice(70)], 'ndjson');
      expect(report).toMatchObject({ records: 2, good: 2, bad: 0, bytes: Buffer.byteLength(text) });
      expect(rows[0]).toMatchObject({
        kind: 'md5',
        verdict: 'malicious',
        threat: 'EICAR',
        firstSeen: 1_577_836_800,
      });
      expect(rows[0]!.digest.toString('hex')).toBe(MD5);
      expect(rows[1]).toMatchObject({ kind: 'sha1', threat: '', firstSeen: 1_700_000_000, source: 's' });
    });
  });

  describe('when NDJSON lines are bad', () => {
    it('reports each by its line number and stops passing good rows on', async () => {
      const text = [
        `{"hash":"${MD5}","verdict":"malicious"}`,
        '[1]',
        `{"hash":"${MD5}","verdict":"evil"}`,
        '{',
        `{"hash":"${MD5}","verdict":"clean","firstSeen":"2020-01-01T00:00:00"}`,
        `{"hash":"${MD5}","verdict":"clean","firstSeen":"2021-01-01","lastSeen":"2020-01-01"}`,
        `{"hash":"${MD5}","verdict":"clean"}`,
      ].join('\n');
      const { rows, report } = await read(text, 'ndjson');
      expect(report.bad).toBe(5);
      expect(report.badLines.map((b) => b.line)).toEqual([2, 3, 4, 5, 6]);
      expect(report.badLines[1]!.message).toContain('verdict');
      // Nothing of a bad feed would be loaded, so nothing more is handed on once a line is bad.
      expect(rows).toHaveLength(0);
      const kept = await read(text, 'ndjson', true);
      expect(kept.rows).toHaveLength(2);
    });

    it('caps the list of bad lines but counts them all', async () => {
      const { report } = await read('x\n'.repeat(150), 'ndjson');
      expect(report.bad).toBe(150);
      expect(report.badLines).toHaveLength(MAX_REPORTED_BAD_LINES);
    });

    it('refuses an overlong line without holding it', async () => {
      const { report } = await read(
        [`{"hash":"${'a'.repeat(70_000)}`, `"}\n{"hash":"${MD5}","verdict":"clean"}`],
        'ndjson',
      );
      expect(report).toMatchObject({ good: 1, bad: 1 });
      expect(report.badLines[0]!.line).toBe(1);
    });
  });

  describe('when a CSV feed is read', () => {
    it('honours RFC 4180 quoting and any column order', async () => {
      const text = `verdict,hash,threat\r\nmalicious,${MD5},"a ""quoted"", name"\r\nclean,${SHA1},"two\nlines"\r\n`;
      const { rows, report } = await read(text, 'csv');
      expect(report).toMatchObject({ records: 2, bad: 0 });
      expect(rows.map((r) => r.threat)).toEqual(['a "quoted", name', 'two\nlines']);
    });

    it('reports bad rows by line, and a bad header as line 1', async () => {
      const bad = await read(`hash,verdict\n${MD5},malicious\nzz,malicious\n${MD5},clean,extra\n`, 'csv');
      expect(bad.report.badLines.map((b) => b.line)).toEqual([3, 4]);
      const header = await read(`hash,verdict,colour\n${MD5},malicious,red\n`, 'csv');
      expect(header.report.badLines[0]).toMatchObject({ line: 1 });
      expect(header.rows).toHaveLength(0);
    });

    it('reads back any threat name written with RFC 4180 quoting (property)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 40 }), async (threat) => {
          const quoted = `"${threat.replaceAll('"', '""')}"`;
          const { rows, report } = await read(`hash,verdict,threat\n${MD5},malicious,${quoted}\n`, 'csv');
          expect(report.bad).toBe(0);
          expect(rows[0]!.threat).toBe(threat.trim());
        }),
        { numRuns: 100 },
      );
    });
  });

  describe('when a threat name is not one line of Unicode text', () => {
    const bytes = (...parts: (string | number[])[]) =>
      Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

    it('refuses NUL bytes, control characters and invalid UTF-8 in a CSV feed, by line', async () => {
      const feed = bytes(
        `hash,verdict,threat\n${MD5},malicious,Good\n`,
        `${MD5},malicious,Evil`,
        [0x00],
        `\n${MD5},malicious,Evil`,
        [0xc0, 0xae, 0xff],
        `\n${SHA1},malicious,"Evil`,
        [0xed, 0xa0, 0x80],
        '"\n',
        `${MD5},malicious,Evil\u001b[31m\n`,
      );
      const { rows, report } = await read(feed, 'csv');
      expect(report.badLines.map((b) => b.line)).toEqual([3, 4, 5, 6]);
      expect(report.badLines[3]!.message).toMatch(/threat holds a control character/);
      expect(report.badLines[0]!.message).toMatch(/threat holds a NUL/);
      expect(report.badLines[1]!.message).toMatch(/threat is not valid UTF-8/);
      expect(rows).toHaveLength(0);
    });

    it('refuses escaped NUL, lone surrogates and invalid UTF-8 in an NDJSON feed', async () => {
      const line = (threat: string) => `{"hash":"${MD5}","verdict":"malicious","threat":"${threat}"}\n`;
      const feed = bytes(
        line('Good'),
        line('Evil\\u0000'),
        line('Evil\\ud800'),
        `{"hash":"${MD5}","verdict":"malicious","threat":"Evil`,
        [0xff, 0xfe],
        '"}\n',
      );
      const { rows, report } = await read(feed, 'ndjson');
      expect(report.badLines.map((b) => b.line)).toEqual([2, 3, 4]);
      expect(report.badLines.map((b) => b.message)).toEqual([
        'threat holds a NUL character',
        'threat holds a lone surrogate (not Unicode text)',
        'threat is not valid UTF-8',
      ]);
      expect(rows).toHaveLength(0);
    });
  });
});
