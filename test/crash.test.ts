import { execFile } from 'node:child_process';
import { createCipheriv, createHash, randomInt } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { configure, Uint8ArrayReader, Uint8ArrayWriter, ZipReader } from '@zip.js/zip.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, killAllServers, type ServerProcess, startServer } from './support/server-process.js';

/*
 * The durability promise of the vault (issue: "a `kill -9` during uploads loses nothing that was
 * answered with 200/201 and leaves no corrupt blob"), checked against the real `glasshouse up`
 * process: uploads stream in from several clients, the server is killed with SIGKILL at a random
 * moment, restarted on the same data directory, and everything it acknowledged must come back
 * byte for byte. A process kill keeps the page cache, so this proves the write order (temporary
 * file, rename, row, answer) and the recovery at start, not the fsyncs against a power cut.
 */

const KILL_CYCLES = 3;
const WORKERS = 4;
const MAX_SAMPLE_BYTES = 2 * 1024 * 1024;
const DUPLICATE_SHARE = 0.2;
const CHECKED_WITH_7Z = 4;
const SITES = ['zurich', 'moscow'] as const;

interface Sample {
  readonly seed: number;
  readonly size: number;
  readonly sha256: string;
  readonly md5: string;
}

interface Installation {
  readonly id: string;
  readonly site: string;
}

interface Acknowledged {
  readonly sha256: string;
  readonly site: string;
}

interface CycleResult {
  readonly acknowledged: readonly Acknowledged[];
  /** Uploads that were on the wire when the server died. */
  readonly interrupted: number;
}

configure({ useWebWorkers: false });

let dataDir: string;
let scratchDir: string;

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'glasshouse-crash-'));
  scratchDir = mkdtempSync(join(tmpdir(), 'glasshouse-crash-7z-'));
});

afterAll(async () => {
  await killAllServers();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(scratchDir, { recursive: true, force: true });
});

describe('glasshouse up', () => {
  describe('when it is killed with SIGKILL during a stream of uploads', () => {
    it('serves every acknowledged sample intact after a restart and keeps no leftover or unknown blob', async () => {
      let server = await startServer(dataDir);
      const [product, analyst] = await Promise.all([
        createToken(dataDir, 'product'),
        createToken(dataDir, 'analyst'),
      ]);
      const installations = [
        await register(server, product, 'DE', 'zurich'),
        await register(server, product, 'RU', 'moscow'),
      ];
      const corpus = new Corpus();
      const acknowledged: Acknowledged[] = [];
      let interrupted = 0;
      let leftovers = 0;

      for (let cycle = 0; cycle < KILL_CYCLES; cycle += 1) {
        const result = await uploadUntilKilled(server, product, installations, corpus);
        acknowledged.push(...result.acknowledged);
        interrupted += result.interrupted;
        leftovers += SITES.reduce((n, site) => n + tmpFiles(site).length, 0);

        const t0 = performance.now();
        server = await startServer(dataDir);
        console.log('restart ms', performance.now() - t0, result.acknowledged.length, result.interrupted);
        await expectRecovered(server, analyst);
      }

      console.log('STATS', {
        acked: acknowledged.length,
        interrupted,
        leftovers,
        blobs: SITES.map((s) => blobFiles(s).length),
        t: performance.now(),
      });
      // The kills must have hit uploads in progress, or the test proved nothing.
      expect(acknowledged.length, 'acknowledged uploads').toBeGreaterThanOrEqual(KILL_CYCLES);
      expect(interrupted, 'uploads cut off by a kill').toBeGreaterThan(0);
      expect(leftovers, 'temporary files a kill left behind').toBeGreaterThan(0);
      await expectAcknowledgedDescribed(server, analyst, acknowledged, corpus);
      await expectBlobsIntact(server, analyst, acknowledged, corpus);
      console.log('END', performance.now());
    }, 120_000);
  });
});

/** Random samples (1 byte to 2 MiB) regenerated from a seed, so the test keeps hashes, not bytes. */
class Corpus {
  readonly #samples = new Map<string, Sample>();
  #nextSeed = 1;

  /** A new sample, or now and then one uploaded before, to go through deduplication. */
  next(): Sample {
    const known = [...this.#samples.values()];
    if (known.length > 0 && Math.random() < DUPLICATE_SHARE) return known[randomInt(known.length)]!;
    const seed = this.#nextSeed++;
    const size = Math.random() < 0.25 ? randomInt(1, 4097) : randomInt(1, MAX_SAMPLE_BYTES + 1);
    const bytes = sampleBytes(seed, size);
    const sample = { seed, size, sha256: digest('sha256', bytes), md5: digest('md5', bytes) };
    this.#samples.set(sample.sha256, sample);
    return sample;
  }

  get(sha256: string): Sample | undefined {
    return this.#samples.get(sha256);
  }
}

function sampleBytes(seed: number, size: number): Buffer {
  const key = createHash('sha256').update(`crash-test-${seed}`).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

function digest(algorithm: 'sha256' | 'md5', bytes: Uint8Array): string {
  return createHash(algorithm).update(bytes).digest('hex');
}

async function register(
  target: ServerProcess,
  product: string,
  country: string,
  site: string,
): Promise<Installation> {
  const response = await fetch(`${target.baseUrl}/v1/installations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${product}`, 'content-type': 'application/json' },
    body: JSON.stringify({ country, product: 'crash-test' }),
  });
  expect(response.status).toBe(201);
  const installation = (await response.json()) as { id: string; site: string };
  expect(installation.site).toBe(site);
  return { id: installation.id, site: installation.site };
}

/**
 * Runs WORKERS upload loops against the server and kills it after a random 300–1500 ms (and
 * not before this cycle's first acknowledgement), then lets the loops see their requests fail.
 */
async function uploadUntilKilled(
  target: ServerProcess,
  product: string,
  installations: readonly Installation[],
  corpus: Corpus,
): Promise<CycleResult> {
  const acknowledged: Acknowledged[] = [];
  const state = { killed: false, interrupted: 0 };
  let firstAcknowledgement: () => void = () => undefined;
  const acknowledgedOnce = new Promise<void>((resolve) => {
    firstAcknowledgement = resolve;
  });

  const worker = async () => {
    while (!state.killed) {
      const sample = corpus.next();
      const installation = installations[randomInt(installations.length)]!;
      let outcome: { status: number; body: Record<string, unknown> };
      try {
        const response = await fetch(
          `${target.baseUrl}/v1/samples?installation=${installation.id}&filename=f.bin`,
          {
            method: 'POST',
            headers: { authorization: `Bearer ${product}`, 'content-type': 'application/octet-stream' },
            body: sampleBytes(sample.seed, sample.size),
            signal: AbortSignal.timeout(30_000),
          },
        );
        outcome = { status: response.status, body: (await response.json()) as Record<string, unknown> };
      } catch (error) {
        if (!state.killed) throw error;
        state.interrupted += 1;
        return;
      }
      expect([200, 201], JSON.stringify(outcome.body)).toContain(outcome.status);
      expect(outcome.body).toMatchObject({
        sha256: sample.sha256,
        md5: sample.md5,
        size: sample.size,
        site: installation.site,
      });
      acknowledged.push({ sha256: sample.sha256, site: installation.site });
      firstAcknowledgement();
    }
  };

  const workers = Promise.all(Array.from({ length: WORKERS }, worker));
  try {
    await Promise.race([
      Promise.all([acknowledgedOnce, sleep(randomInt(300, 1501))]),
      workers.then(() => {
        throw new Error('the uploads stopped before the kill');
      }),
    ]);
  } finally {
    state.killed = true;
    await target.kill();
  }
  await workers;
  return { acknowledged, interrupted: state.interrupted };
}

/** Right after a restart: recovery emptied every `tmp`, and the server knows every blob on disk. */
async function expectRecovered(target: ServerProcess, analyst: string): Promise<void> {
  for (const site of SITES) {
    expect(tmpFiles(site), `leftovers in sites/${site}/tmp`).toEqual([]);
    for (const sha256 of blobFiles(site)) {
      const response = await get(target, analyst, `/v1/samples/${sha256}`);
      expect(response.status, `blob ${sha256} at ${site} has no row`).toBe(200);
      const described = (await response.json()) as { sites: { site: string }[] };
      expect(described.sites.map((s) => s.site)).toContain(site);
    }
  }
}

async function expectAcknowledgedDescribed(
  target: ServerProcess,
  analyst: string,
  acknowledged: readonly Acknowledged[],
  corpus: Corpus,
): Promise<void> {
  const bySample = new Map<string, Set<string>>();
  for (const { sha256, site } of acknowledged)
    bySample.set(sha256, (bySample.get(sha256) ?? new Set()).add(site));
  await inParallel([...bySample], async ([sha256, sites]) => {
    const sample = corpus.get(sha256)!;
    const response = await get(target, analyst, `/v1/samples/${sha256}`);
    expect(response.status, `acknowledged sample ${sha256}`).toBe(200);
    const described = (await response.json()) as { size: number; md5: string; sites: { site: string }[] };
    expect(described).toMatchObject({ size: sample.size, md5: sample.md5 });
    expect(described.sites.map((s) => s.site)).toEqual(expect.arrayContaining([...sites]));
  });
}

/**
 * Downloads every blob on disk from its site, acknowledged ones included, and checks the zip
 * holds exactly the bytes that were uploaded: a few through 7-Zip, the rest through zip.js.
 */
async function expectBlobsIntact(
  target: ServerProcess,
  analyst: string,
  acknowledged: readonly Acknowledged[],
  corpus: Corpus,
): Promise<void> {
  const onDisk = SITES.flatMap((site) => blobFiles(site).map((sha256) => ({ sha256, site })));
  const stored = new Set(onDisk.map((b) => `${b.site}/${b.sha256}`));
  for (const { sha256, site } of acknowledged)
    expect(stored, 'acknowledged blob on disk').toContain(`${site}/${sha256}`);
  const with7z = new Set(shuffled(onDisk).slice(0, CHECKED_WITH_7Z));
  await inParallel(onDisk, async (blob) => {
    const sample = corpus.get(blob.sha256);
    expect(sample, `blob ${blob.sha256} was never uploaded`).toBeDefined();
    const response = await get(target, analyst, `/v1/samples/${blob.sha256}/download?site=${blob.site}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-glasshouse-site')).toBe(blob.site);
    const zip = new Uint8Array(await response.arrayBuffer());
    const bytes = with7z.has(blob) ? await extractWith7z(zip, blob) : await extractWithZipJs(zip);
    expect(bytes.length).toBe(sample!.size);
    expect(digest('sha256', bytes), `content of ${blob.site}/${blob.sha256}`).toBe(blob.sha256);
    expect(Buffer.from(bytes).equals(sampleBytes(sample!.seed, sample!.size))).toBe(true);
  });
}

async function extractWith7z(zip: Uint8Array, blob: Acknowledged): Promise<Uint8Array> {
  const directory = join(scratchDir, `${blob.site}-${blob.sha256}`);
  mkdirSync(directory);
  const archive = join(directory, 'sample.zip');
  writeFileSync(archive, zip);
  await promisify(execFile)('7z', ['x', '-pinfected', '-y', `-o${join(directory, 'out')}`, archive]);
  return readFileSync(join(directory, 'out', blob.sha256));
}

async function extractWithZipJs(zip: Uint8Array): Promise<Uint8Array> {
  const entries = await new ZipReader(new Uint8ArrayReader(zip)).getEntries();
  expect(entries).toHaveLength(1);
  const [entry] = entries;
  if (entry === undefined || entry.directory) throw new Error('expected one file entry');
  return entry.getData(new Uint8ArrayWriter(), { password: 'infected' });
}

function tmpFiles(site: string): string[] {
  const directory = join(dataDir, 'sites', site, 'tmp');
  return existsSync(directory) ? readdirSync(directory) : [];
}

/** Every file under `sites/<site>/blobs`, by name (which is the SHA-256 of the plaintext). */
function blobFiles(site: string): string[] {
  const directory = join(dataDir, 'sites', site, 'blobs');
  if (!existsSync(directory)) return [];
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name);
}

function get(target: ServerProcess, token: string, path: string): Promise<Response> {
  return fetch(`${target.baseUrl}${path}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(30_000),
  });
}

async function inParallel<T>(
  items: readonly T[],
  body: (item: T) => Promise<void>,
  width = 4,
): Promise<void> {
  const queue = [...items];
  const lane = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await body(item);
  };
  await Promise.all(Array.from({ length: width }, lane));
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = randomInt(i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
