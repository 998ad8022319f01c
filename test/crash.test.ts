import { createCipheriv, createHash, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configure, Uint8ArrayReader, Uint8ArrayWriter, ZipReader } from '@zip.js/zip.js';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractWith7z } from './support/files.js';
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
/** Many small uploads at once: what the vault's group commit batches. */
const SMALL = { workers: 24, maxBytes: 64 * 1024, killCycles: 2 } as const;
/** The slow upload sends 2 MiB in 32 KiB steps every 100 ms: it is still arriving at every kill. */
const TRICKLE = { bytes: 2 * 1024 * 1024, step: 32 * 1024, everyMs: 100 } as const;

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

/** A sample at a site: what an upload acknowledged, or a blob file found on disk. */
interface Placement {
  readonly sha256: string;
  readonly site: string;
}

interface Upload {
  readonly acknowledged: Placement[];
  killed: boolean;
  /** Uploads that were on the wire when the server died. */
  interrupted: number;
  /** Of those, the workers' own (not the trickling upload, which is always cut off). */
  workersCutOff: number;
}

configure({ useWebWorkers: false });

/** The data directory of the test running; the helpers below read it. */
let dataDir: string;
const dataDirs: string[] = [];

function newDataDir(): string {
  dataDir = mkdtempSync(join(tmpdir(), 'glasshouse-crash-'));
  dataDirs.push(dataDir);
  return dataDir;
}

beforeAll(() => {
  newDataDir();
});

afterAll(async () => {
  await killAllServers();
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
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
      const acknowledged: Placement[] = [];

      for (let cycle = 0; cycle < KILL_CYCLES; cycle += 1) {
        const upload = await uploadUntilKilled(server, product, installations, corpus);
        acknowledged.push(...upload.acknowledged);
        // The kill must have cut uploads off mid-write, or the restart has nothing to recover.
        expect(upload.acknowledged.length, 'uploads acknowledged before the kill').toBeGreaterThan(0);
        expect(upload.interrupted, 'uploads cut off by the kill').toBeGreaterThan(0);
        expect(SITES.flatMap(tmpFiles), 'temporary files the kill left').not.toEqual([]);

        server = await startServer(dataDir);
        await expectRecovered(server, analyst);
      }

      await expectAcknowledgedDescribed(server, analyst, acknowledged, corpus);
      await expectBlobsIntact(server, analyst, acknowledged, corpus);
    }, 120_000);
  });

  describe('when it is killed with SIGKILL while many small uploads are in flight', () => {
    it('keeps every acknowledged sample, and leaves no row without its blob nor blob without its row', async () => {
      newDataDir();
      let server = await startServer(dataDir);
      const [product, analyst] = await Promise.all([
        createToken(dataDir, 'product'),
        createToken(dataDir, 'analyst'),
      ]);
      const installations = [
        await register(server, product, 'DE', 'zurich'),
        await register(server, product, 'RU', 'moscow'),
      ];
      const corpus = new Corpus(SMALL.maxBytes);
      const acknowledged: Placement[] = [];

      for (let cycle = 0; cycle < SMALL.killCycles; cycle += 1) {
        const upload = await uploadUntilKilled(server, product, installations, corpus, SMALL.workers);
        acknowledged.push(...upload.acknowledged);
        expect(upload.acknowledged.length, 'uploads acknowledged before the kill').toBeGreaterThan(0);
        // Group commit answers uploads in bursts, so how many a kill cuts off depends on where it
        // lands in a batch; that it cuts some small ones off is what this test is about.
        expect(upload.workersCutOff, 'small uploads cut off by the kill').toBeGreaterThan(0);
        // Rows as the killed process left them: each names a published blob.
        expectEveryRowHasItsBlob();

        server = await startServer(dataDir);
        await expectRecovered(server, analyst);
        expectEveryRowHasItsBlob();
      }

      await expectAcknowledgedDescribed(server, analyst, acknowledged, corpus);
      await expectBlobsIntact(server, analyst, acknowledged, corpus);
    }, 240_000);
  });
});

/** Random samples (1 byte to 2 MiB) regenerated from a seed, so the test keeps hashes, not bytes. */
class Corpus {
  readonly #samples = new Map<string, Sample>();
  readonly #maxBytes: number;
  #nextSeed = 1;

  constructor(maxBytes = MAX_SAMPLE_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /** A new sample, or now and then one uploaded before, to go through deduplication. */
  next(): { sample: Sample; bytes: Buffer } {
    const known = [...this.#samples.values()];
    if (known.length > 0 && Math.random() < DUPLICATE_SHARE) {
      const sample = known[randomInt(known.length)]!;
      return { sample, bytes: sampleBytes(sample) };
    }
    return this.create(Math.random() < 0.25 ? randomInt(1, 4097) : randomInt(1, this.#maxBytes + 1));
  }

  create(size: number): { sample: Sample; bytes: Buffer } {
    const seed = this.#nextSeed++;
    const bytes = sampleBytes({ seed, size });
    const sample = { seed, size, sha256: digest('sha256', bytes), md5: digest('md5', bytes) };
    this.#samples.set(sample.sha256, sample);
    return { sample, bytes };
  }

  get(sha256: string): Sample | undefined {
    return this.#samples.get(sha256);
  }
}

function sampleBytes({ seed, size }: { seed: number; size: number }): Buffer {
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
 * Runs WORKERS upload loops and one slow upload against the server, kills it after a random
 * 300–1500 ms (and not before the first acknowledgement), then lets every upload see its
 * request fail.
 */
async function uploadUntilKilled(
  target: ServerProcess,
  product: string,
  installations: readonly Installation[],
  corpus: Corpus,
  workers = WORKERS,
): Promise<Upload> {
  const upload: Upload = { acknowledged: [], killed: false, interrupted: 0, workersCutOff: 0 };
  let firstAcknowledgement = () => {};
  const acknowledgedOnce = new Promise<void>((resolve) => {
    firstAcknowledgement = resolve;
  });
  const send = async (installation: Installation, sample: Sample, body: Buffer | ReadableStream) => {
    const answered = await submit(target, product, installation, body);
    if (answered === undefined) return false;
    expect([200, 201], JSON.stringify(answered.body)).toContain(answered.status);
    expect(answered.body).toMatchObject({
      sha256: sample.sha256,
      md5: sample.md5,
      size: sample.size,
      site: installation.site,
    });
    upload.acknowledged.push({ sha256: sample.sha256, site: installation.site });
    firstAcknowledgement();
    return true;
  };
  const submit = async (...args: Parameters<typeof post>) => {
    try {
      return await post(...args);
    } catch (error) {
      if (!upload.killed) throw error;
      upload.interrupted += 1;
      return undefined;
    }
  };

  const worker = async () => {
    while (!upload.killed) {
      const { sample, bytes } = corpus.next();
      if (!(await send(pick(installations), sample, bytes))) {
        upload.workersCutOff += 1;
        return;
      }
    }
  };
  const slow = corpus.create(TRICKLE.bytes);
  const uploads = Promise.all([
    send(pick(installations), slow.sample, trickle(slow.bytes)),
    ...Array.from({ length: workers }, worker),
  ]);
  try {
    await Promise.race([
      Promise.all([acknowledgedOnce, sleep(randomInt(300, 1501))]),
      uploads.then(() => {
        throw new Error('the uploads stopped before the kill');
      }),
    ]);
  } finally {
    upload.killed = true;
    await target.kill();
  }
  await uploads;
  return upload;
}

async function post(
  target: ServerProcess,
  product: string,
  installation: Installation,
  body: Buffer | ReadableStream,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(
    `${target.baseUrl}/v1/samples?installation=${installation.id}&filename=f.bin`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${product}`, 'content-type': 'application/octet-stream' },
      body,
      duplex: 'half',
      signal: AbortSignal.timeout(30_000),
    },
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A request body that arrives slowly (chunked), so the server holds a temporary file for a long time. */
function trickle(bytes: Buffer): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    async pull(controller) {
      if (offset > 0) await sleep(TRICKLE.everyMs);
      controller.enqueue(bytes.subarray(offset, offset + TRICKLE.step));
      offset += TRICKLE.step;
      if (offset >= bytes.length) controller.close();
    },
  });
}

/** Right after a restart: recovery emptied every `tmp`, and the server knows every blob on disk. */
async function expectRecovered(target: ServerProcess, analyst: string): Promise<void> {
  expect(SITES.flatMap(tmpFiles), 'leftovers in sites/*/tmp after recovery').toEqual([]);
  await inParallel(blobsOnDisk(), async ({ sha256, site }) => {
    const response = await get(target, analyst, `/v1/samples/${sha256}`);
    expect(response.status, `blob ${site}/${sha256} has no row`).toBe(200);
    const described = (await response.json()) as { sites: { site: string }[] };
    expect(described.sites.map((s) => s.site)).toContain(site);
  });
}

/** Every sample row of every site names a blob file (read from the site's database directly). */
function expectEveryRowHasItsBlob(): void {
  const onDisk = new Set(blobsOnDisk().map((b) => `${b.site}/${b.sha256}`));
  for (const site of SITES) {
    const file = join(dataDir, 'sites', site, 'site.db');
    if (!existsSync(file)) continue;
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare('SELECT sha256 FROM samples').pluck().all() as string[];
      for (const sha256 of rows)
        expect(onDisk, `row ${site}/${sha256} without its blob`).toContain(`${site}/${sha256}`);
    } finally {
      db.close();
    }
  }
}

async function expectAcknowledgedDescribed(
  target: ServerProcess,
  analyst: string,
  acknowledged: readonly Placement[],
  corpus: Corpus,
): Promise<void> {
  const sitesOf = new Map<string, Set<string>>();
  for (const { sha256, site } of acknowledged)
    sitesOf.set(sha256, (sitesOf.get(sha256) ?? new Set()).add(site));
  await inParallel([...sitesOf], async ([sha256, sites]) => {
    const sample = corpus.get(sha256)!;
    const response = await get(target, analyst, `/v1/samples/${sha256}`);
    expect(response.status, `acknowledged sample ${sha256}`).toBe(200);
    const described = (await response.json()) as { size: number; md5: string; sites: { site: string }[] };
    expect(described).toMatchObject({ size: sample.size, md5: sample.md5 });
    expect(described.sites.map((s) => s.site)).toEqual(expect.arrayContaining([...sites]));
  });
}

/**
 * Downloads every blob on disk from its site, the acknowledged ones among them, and checks the
 * zip holds exactly the bytes that were uploaded: a few through 7-Zip, the rest through zip.js.
 */
async function expectBlobsIntact(
  target: ServerProcess,
  analyst: string,
  acknowledged: readonly Placement[],
  corpus: Corpus,
): Promise<void> {
  const onDisk = blobsOnDisk();
  const stored = new Set(onDisk.map((b) => `${b.site}/${b.sha256}`));
  for (const { sha256, site } of acknowledged) {
    expect(stored, 'acknowledged sample has its blob').toContain(`${site}/${sha256}`);
  }
  const with7z = new Set(shuffled(onDisk).slice(0, CHECKED_WITH_7Z));
  await inParallel(onDisk, async (blob) => {
    const sample = corpus.get(blob.sha256);
    if (sample === undefined) throw new Error(`blob ${blob.site}/${blob.sha256} was never uploaded`);
    const response = await get(target, analyst, `/v1/samples/${blob.sha256}/download?site=${blob.site}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-glasshouse-site')).toBe(blob.site);
    const zip = await response.arrayBuffer().then(Buffer.from, (cause: unknown) => {
      throw new Error(`the download of ${blob.site}/${blob.sha256} broke off`, { cause });
    });
    const bytes = with7z.has(blob) ? extractWith7z(zip).get(blob.sha256) : await extractWithZipJs(zip);
    expect(bytes?.length, `size of ${blob.site}/${blob.sha256}`).toBe(sample.size);
    expect(digest('sha256', bytes!), `content of ${blob.site}/${blob.sha256}`).toBe(blob.sha256);
    expect(Buffer.from(bytes!).equals(sampleBytes(sample))).toBe(true);
  });
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
  return existsSync(directory) ? readdirSync(directory).map((name) => `${site}/tmp/${name}`) : [];
}

/** Every file under `sites/*\/blobs`; its name is the SHA-256 of the plaintext. */
function blobsOnDisk(): Placement[] {
  return SITES.flatMap((site) => {
    const directory = join(dataDir, 'sites', site, 'blobs');
    if (!existsSync(directory)) return [];
    return readdirSync(directory, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => ({ sha256: entry.name, site }));
  });
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

function pick<T>(items: readonly T[]): T {
  return items[randomInt(items.length)]!;
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
