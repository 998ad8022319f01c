import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ssdeepScore } from '../src/site/catalogue/ssdeep-score.js';
import { parseTlsh, tlshDistance } from '../src/site/catalogue/tlsh-distance.js';

const run = promisify(execFile);

const TLSH = '/usr/bin/tlsh';
const SSDEEP = '/usr/bin/ssdeep';
// Like the other independent tools: skipped locally without Debian's, never under CI.
const noTools = (!existsSync(TLSH) || !existsSync(SSDEEP)) && !process.env.CI;
if (noTools) console.warn('similar-digests.test.ts: tlsh or ssdeep is missing; the cross-check is SKIPPED');

/** A deterministic generator, so that a failure can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state;
  };
}

/** Real programs and variants of them: bytes changed here and there, data appended, cut short. */
async function writeFiles(dir: string): Promise<string[]> {
  const next = prng(21);
  const names: string[] = [];
  for (const program of ['true', 'false', 'head', 'tail', 'cat']) {
    const original = await readFile(`/usr/bin/${program}`);
    const variants: [string, Buffer][] = [[program, original]];
    for (const changes of [4, 40, 400]) {
      const copy = Buffer.from(original);
      for (let i = 0; i < changes; i++) copy[next() % copy.length] = next() & 0xff;
      variants.push([`${program}-changed-${changes}`, copy]);
    }
    const junk = Buffer.alloc(original.length >> 2);
    for (let i = 0; i < junk.length; i++) junk[i] = next() & 0xff;
    variants.push([`${program}-appended`, Buffer.concat([original, junk])]);
    variants.push([`${program}-cut`, original.subarray(0, Math.floor(original.length * 0.7))]);
    for (const [name, bytes] of variants) {
      await writeFile(join(dir, name), bytes);
      names.push(name);
    }
  }
  return names;
}

describe.skipIf(noTools)("TLSH distance and ssdeep score against Debian's tlsh and ssdeep", () => {
  let dir: string;
  let names: string[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'glasshouse-similar-'));
    names = await writeFiles(dir);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives every pair the distance `tlsh -xref` prints (length component included)', async () => {
    const digests = new Map<string, string>();
    const listed = await run(TLSH, ['-r', dir], { maxBuffer: 1 << 24 });
    for (const line of listed.stdout.trim().split('\n')) {
      const [digest, path] = line.split('\t');
      digests.set(basename(path!), digest!);
    }
    expect(digests.size).toBe(names.length);
    const xref = await run(TLSH, ['-xref', '-r', dir], { maxBuffer: 1 << 24 });
    const pairs = xref.stdout.trim().split('\n');
    expect(pairs.length).toBe((names.length * (names.length - 1)) / 2);
    const distances: number[] = [];
    for (const line of pairs) {
      const [a, b, expected] = line.split('\t');
      // The standard form carries a `T1` version prefix that this tool does not print.
      const da = parseTlsh(`T1${digests.get(basename(a!))}`);
      const db = parseTlsh(digests.get(basename(b!))!);
      expect(da, a).toBeDefined();
      expect(db, b).toBeDefined();
      const distance = tlshDistance(da!, db!);
      expect({ pair: [basename(a!), basename(b!)], distance }).toEqual({
        pair: [basename(a!), basename(b!)],
        distance: Number(expected),
      });
      distances.push(distance);
    }
    // Near variants and unrelated programs both: the check covers small and large distances.
    expect(distances.filter((d) => d > 0 && d < 50).length).toBeGreaterThan(5);
    expect(distances.filter((d) => d > 150).length).toBeGreaterThan(5);
  });

  it('gives every pair the score `ssdeep -a -d` prints', async () => {
    const hashed = await run(SSDEEP, ['-s', '-c', '-b', ...names], { cwd: dir, maxBuffer: 1 << 24 });
    const signatures = new Map<string, string>();
    for (const line of hashed.stdout.trim().split('\n').slice(1)) {
      const comma = line.indexOf(',');
      signatures.set(JSON.parse(line.slice(comma + 1)) as string, line.slice(0, comma));
    }
    expect(signatures.size).toBe(names.length);
    const compared = await run(SSDEEP, ['-s', '-a', '-d', '-b', ...names], { cwd: dir, maxBuffer: 1 << 24 });
    const lines = compared.stdout.trim().split('\n');
    expect(lines.length).toBe((names.length * (names.length - 1)) / 2);
    const scores: number[] = [];
    for (const line of lines) {
      const match = /^(\S+) matches (\S+) \((\d+)\)$/.exec(line);
      expect(match, line).not.toBeNull();
      const [, a, b, expected] = match!;
      const score = ssdeepScore(signatures.get(a!)!, signatures.get(b!)!);
      expect({ pair: [a, b], score }).toEqual({ pair: [a, b], score: Number(expected) });
      scores.push(score!);
    }
    expect(scores.filter((s) => s > 0 && s < 100).length).toBeGreaterThan(5);
    expect(scores.filter((s) => s === 0).length).toBeGreaterThan(5);
  });

  it('refuses what is not a digest', () => {
    expect(parseTlsh('TNULL')).toBeUndefined();
    expect(parseTlsh('T1ZZ')).toBeUndefined();
    expect(ssdeepScore('3:abc', '3:abc:def')).toBeUndefined();
    expect(
      ssdeepScore('3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C', '3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C'),
    ).toBe(100);
  });
});
