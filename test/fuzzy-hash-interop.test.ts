import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Fingerprinter } from '../src/site/vault/fingerprint/fingerprinter.js';
import { SsdeepHasher } from '../src/site/vault/fingerprint/ssdeep.js';
import { TlshHasher } from '../src/site/vault/fingerprint/tlsh.js';

/*
 * Our streaming ssdeep and TLSH against Debian's `ssdeep -s` (2.14) and `tlsh -f` (TLSH 3.4,
 * package tlsh-tools) on the same files: sizes around the block-size boundaries, tiny ones,
 * text, zeros, random data and the system's own binaries, each fed in uneven chunks.
 */

const run = promisify(execFile);
const SSDEEP = '/usr/bin/ssdeep';
const TLSH = '/usr/bin/tlsh';
// Like the other independent tools: skipped locally without Debian's, never under CI.
const noTools = (!existsSync(SSDEEP) || !existsSync(TLSH)) && !process.env.CI;
if (noTools)
  console.warn('fuzzy-hash-interop.test.ts: ssdeep or tlsh is missing; the cross-check is SKIPPED');

const dir = mkdtempSync(join(tmpdir(), 'glasshouse-fuzzy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic pseudo-random bytes (a SHA-256 counter stream), so a failure reproduces. */
function streamOf(label: string, size: number): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; i * 32 < size; i++) blocks.push(createHash('sha256').update(`${label}:${i}`).digest());
  return Buffer.concat(blocks).subarray(0, size);
}

function fileOf(name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/**
 * The digests as ours gives them, the input cut into chunks of `chunk` bytes; with its length
 * told in advance or not (the ssdeep then skips the block sizes too large to be chosen).
 */
function ours(bytes: Buffer, chunk: number, sized: boolean): { ssdeep: string; tlsh: string | null } {
  const ssdeep = new SsdeepHasher(sized ? bytes.length : undefined);
  const tlsh = new TlshHasher();
  for (let at = 0; at < bytes.length; at += chunk) {
    ssdeep.update(bytes.subarray(at, at + chunk));
    tlsh.update(bytes.subarray(at, at + chunk));
  }
  return { ssdeep: ssdeep.digest(), tlsh: tlsh.digest() };
}

/** What Debian's commands print for the file (TLSH: null for "file too small" or "cannot hash", else with `T1`). */
async function theirs(path: string): Promise<{ ssdeep: string; tlsh: string | null }> {
  const ssdeep = (await run(SSDEEP, ['-s', path])).stdout.split('\n')[1]!;
  const tlsh = (await run(TLSH, ['-f', path])).stdout.trim();
  return {
    ssdeep: ssdeep.slice(0, ssdeep.indexOf(',"')),
    tlsh: tlsh === '' ? null : withVersion(tlsh.split('\t')[0]!),
  };
}

/** TLSH 3.4 prints the 70 hex digits bare; we give TLSH 4's form, `T1` before them. */
function withVersion(digest: string): string {
  return digest.startsWith('T1') ? digest : `T1${digest}`;
}

const SIZES = [
  1, 2, 6, 7, 8, 63, 64, 65, 191, 192, 193, 255, 256, 257, 383, 384, 385, 767, 768, 769, 3199, 3200, 6143,
  6144, 6145, 12_289, 196_609, 1_572_865,
];

const cases: { name: string; bytes: () => Buffer }[] = [
  ...SIZES.map((size) => ({ name: `random-${size}`, bytes: () => streamOf(`r${size}`, size) })),
  { name: 'random-1MiB', bytes: () => randomBytes(1 << 20) },
  { name: 'zeros-4096', bytes: () => Buffer.alloc(4096) },
  { name: 'two-letters-600', bytes: () => Buffer.from('ab'.repeat(300)) },
  { name: 'text', bytes: () => Buffer.from('a line of text\n'.repeat(20_000)) },
  ...['true', 'ls', 'env', 'sh', 'bash', 'tar']
    .map((name) => `/usr/bin/${name}`)
    .filter((path) => existsSync(path) && statSync(path).size < 256 << 20)
    .map((path) => ({ name: path.slice('/usr/bin/'.length), bytes: () => readFileSync(path) })),
];

describe.skipIf(noTools)('ssdeep and TLSH', () => {
  describe("when computed on the same files as Debian's ssdeep -s and tlsh -f", () => {
    it.each(cases)('give the same digests for $name, whatever the chunking', async ({ name, bytes }) => {
      const data = bytes();
      const expected = await theirs(fileOf(name, data));
      for (const chunk of [1 << 16, 4099, 1]) {
        if (chunk === 1 && data.length > 1 << 16) continue;
        for (const sized of [false, true]) {
          expect(ours(data, chunk, sized), `${name}, chunks of ${chunk}, sized ${sized}`).toEqual(expected);
        }
      }
    });
  });
});

describe('Fingerprinter', () => {
  describe('when a sample streams through it', () => {
    it('gives its type from the magic bytes, text as text/plain, and the rest as octet-stream', async () => {
      const typeOf = async (bytes: Buffer) => {
        const fingerprinter = new Fingerprinter();
        fingerprinter.update(bytes.subarray(0, 3));
        fingerprinter.update(bytes.subarray(3));
        return (await fingerprinter.finish()).fileType;
      };
      expect(await typeOf(Buffer.concat([Buffer.from('%PDF-1.7\n'), streamOf('pdf', 2000)]))).toBe(
        'application/pdf',
      );
      expect(await typeOf(Buffer.from('#!/bin/sh\necho hello\n'))).toBe('text/plain');
      expect(await typeOf(Buffer.concat([Buffer.from([0]), streamOf('bin', 999)]))).toBe(
        'application/octet-stream',
      );
      if (existsSync('/usr/bin/true'))
        expect(await typeOf(readFileSync('/usr/bin/true'))).toBe('application/x-elf');
    });

    it('gives no TLSH under 256 bytes, and the ssdeep of what it saw', async () => {
      const fingerprinter = new Fingerprinter();
      fingerprinter.update(Buffer.from('hello'));
      const fingerprint = await fingerprinter.finish();
      expect(fingerprint.tlsh).toBeNull();
      expect(fingerprint.ssdeep).toMatch(/^3:[A-Za-z0-9+/]+:[A-Za-z0-9+/]+$/);
    });
  });
});
