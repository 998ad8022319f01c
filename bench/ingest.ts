/**
 * Ingest benchmark: HTTP `POST /v1/samples` against a `glasshouse up` child process, beside a
 * baseline measured in the same run on the same bytes: the four digests, the production
 * at-rest encryption (`sealStream`) and a write with fsync, in-process, without HTTP. A
 * second baseline does the same but group-commits: the files written while a batch syncs
 * are synced together, with one sync of their directory. The same uploads also go to the
 * split topology (`glasshouse control` streaming each upload over mutual TLS to a
 * `glasshouse site` process, all on loopback), in the same rounds.
 *
 * Another side uploads the same bytes to a `glasshouse up` whose uploads skip the fuzzy
 * hashes and file type (`samples.fingerprints: false`): the cost of fingerprinting, same run.
 *
 * Goals (from the issues): HTTP ingest of 1 MiB samples at >= 0.8x the baseline, of 64 KiB
 * samples at >= 0.6x; through the control plane at >= 0.8x the all-in-one figure; with fuzzy
 * hashes and file type at >= 0.8x the ingest without them; one 1 GiB upload with the server's
 * RSS under 256 MiB, and through the control plane under 256 MiB in each process.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { sealStream } from '../src/site/vault/crypto/index.js';
import type { Benchmark } from './support/benchmark.js';
import { runCleanups, tempDir } from './support/cleanup.js';
import { HttpClient } from './support/http.js';
import { runPool } from './support/pool.js';
import { createToken, initDataDir, ServerProcess } from './support/server.js';
import { SplitDeployment } from './support/split.js';
import { KiB, MiB, megabytesPerSecond, type Summary, summarize } from './support/stats.js';
import { fixed, mebibytes, passFail, renderTable, withRange } from './support/table.js';

const CONCURRENCY = 8;
const HASHES = ['md5', 'sha1', 'sha256', 'sha512'] as const;
/** HTTP vs the baseline (which fsyncs each sample), per sample size. */
const RATIO_GOAL = { large: 0.8, small: 0.6 } as const;
/** Split topology (control plane + site processes, mTLS) vs `glasshouse up`, 1 MiB samples. */
const SPLIT_RATIO_GOAL = 0.8;
/** `glasshouse up` with fuzzy hashes and type detection vs the same without them, 1 MiB samples. */
const FINGERPRINT_RATIO_GOAL = 0.8;
const LARGE_SIZE = 1024 * MiB;
const RSS_GOAL = 256 * MiB;

interface PhaseSpec {
  readonly label: string;
  readonly size: number;
  readonly count: number;
  readonly rounds: number;
}

interface Plan {
  readonly phases: readonly PhaseSpec[];
  readonly large: boolean;
  readonly json: boolean;
  readonly cpuProfDir: string | undefined;
}

interface RoundResult {
  readonly seconds: number;
  readonly bytes: number;
  readonly samples: number;
}

interface PeakRss {
  readonly hwm: number | undefined;
  readonly sampledMax: number;
}

interface PhaseResult {
  readonly spec: PhaseSpec;
  readonly baseline: { readonly mbps: Summary; readonly samplesPerSecond: Summary };
  /** The baseline with group commit (one sync round for the files that finish together). */
  readonly grouped: { readonly mbps: Summary; readonly samplesPerSecond: Summary; readonly ratio: number };
  readonly http: { readonly mbps: Summary; readonly samplesPerSecond: Summary };
  /** median(HTTP MB/s) / median(baseline MB/s). */
  readonly ratio: number;
  /** HTTP / baseline of each interleaved round pair. */
  readonly pairedRatio: Summary;
  readonly serverPeakRss: PeakRss;
  /** False when VmHWM could not be reset before the phase, so it is the server's lifetime peak. */
  readonly hwmIsPhasePeak: boolean;
  /** The same uploads to a server without fuzzy hashes and type detection. */
  readonly unfingerprinted: {
    readonly mbps: Summary;
    /** median(HTTP MB/s) / median(unfingerprinted MB/s): what fingerprinting leaves of the ingest. */
    readonly ratio: number;
    /** HTTP / unfingerprinted of each interleaved round. */
    readonly pairedRatio: Summary;
  };
  /** Through `glasshouse control` to a `glasshouse site` process. */
  readonly split: {
    readonly mbps: Summary;
    readonly samplesPerSecond: Summary;
    /** median(split MB/s) / median(all-in-one HTTP MB/s). */
    readonly ratio: number;
    /** split / all-in-one of each interleaved round. */
    readonly pairedRatio: Summary;
    readonly controlPeakRss: PeakRss;
    readonly sitePeakRss: PeakRss;
  };
}

interface LargeResult {
  readonly bytes: number;
  readonly http: { readonly seconds: number; readonly mbps: number };
  readonly baseline: { readonly seconds: number; readonly mbps: number };
  readonly serverIdleRss: number | undefined;
  readonly serverPeakRss: PeakRss;
  readonly split: {
    readonly seconds: number;
    readonly mbps: number;
    readonly site: string;
    readonly controlIdleRss: number | undefined;
    readonly siteIdleRss: number | undefined;
    readonly controlPeakRss: PeakRss;
    readonly sitePeakRss: PeakRss;
  };
}

interface Failure {
  readonly what: string;
  readonly status: number | 'error';
  readonly detail: string;
}

/** Failed uploads, reported at the end; any makes the benchmark exit non-zero. */
const failures: Failure[] = [];

const log = (line: string) => process.stderr.write(`${line}\n`);

function planFrom(args: readonly string[]): Plan {
  const { values } = parseArgs({
    args: [...args],
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'no-large': { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const quick = values.quick === true;
  const rounds = values.rounds === undefined ? (quick ? 3 : 5) : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds expects a positive integer');
  return {
    phases: [
      { label: '1 MiB', size: MiB, count: quick ? 16 : 64, rounds },
      { label: '64 KiB', size: 64 * KiB, count: quick ? 64 : 256, rounds },
    ],
    large: !quick && values['no-large'] !== true,
    json: values.json === true,
    cpuProfDir: values['cpu-prof'],
  };
}

const ingest: Benchmark = {
  name: 'ingest',
  summary:
    'HTTP sample ingest (1 MiB, 64 KiB, one 1 GiB upload), all-in-one and through the control plane, vs hash+encrypt+fsync without HTTP',
  options: [
    '--quick         fewer, smaller rounds and no 1 GiB upload (a smoke run)',
    '--rounds N      rounds per phase (default 5, or 3 with --quick)',
    '--json          print the results as JSON on stdout instead of tables',
    '--cpu-prof DIR  run the servers under `node --cpu-prof` and write their profiles to DIR',
    '--no-large      skip the 1 GiB upload',
  ],
  async run(args) {
    const plan = planFrom(args);
    try {
      const phases = await runSmallPhases(plan);
      const large = plan.large ? await runLargePhase(plan) : undefined;
      report(plan, phases, large);
    } catch (error) {
      for (const failure of failures.slice(0, 10))
        log(`failed: ${failure.what}: ${failure.status} ${failure.detail}`);
      if (failures.length > 10) log(`… and ${failures.length - 10} more failed uploads`);
      throw error;
    } finally {
      await runCleanups();
    }
    return failures.length === 0 ? 0 : 1;
  },
};
export default ingest;

// ---------------------------------------------------------------------------------------------
// Phases

async function runSmallPhases(plan: Plan): Promise<PhaseResult[]> {
  const scratch = tempDir('glasshouse-bench-ingest');
  const dataDir = join(scratch.path, 'data');
  log(`ingest: data dir ${dataDir}`);
  await initDataDir(dataDir);
  const token = await createToken(dataDir, 'product');
  const server = await ServerProcess.start({ dataDir, nodeArgs: profileArgs(plan) });
  const client = new HttpClient({ baseUrl: server.baseUrl, token: token.token, maxSockets: CONCURRENCY });
  const plainDir = join(scratch.path, 'data-unfingerprinted');
  await initDataDir(plainDir, { fingerprints: false });
  const plainToken = await createToken(plainDir, 'product');
  const plainServer = await ServerProcess.start({ dataDir: plainDir, nodeArgs: profileArgs(plan) });
  const plainClient = new HttpClient({
    baseUrl: plainServer.baseUrl,
    token: plainToken.token,
    maxSockets: CONCURRENCY,
  });
  log('ingest: starting the split topology (pki, two sites, control plane)');
  const split = await SplitDeployment.start({ tokens: ['product'], nodeArgs: profileArgs(plan) });
  const splitClient = new HttpClient({
    baseUrl: split.control.baseUrl,
    token: split.tokens.product!.token,
    maxSockets: CONCURRENCY,
  });
  try {
    const installations = await registerInstallations(client, CONCURRENCY);
    const plainSide: PlainSide = {
      server: plainServer,
      client: plainClient,
      installations: await registerInstallations(plainClient, CONCURRENCY),
    };
    const splitRegistered = await registerInstallationsAt(splitClient, CONCURRENCY);
    const sites = new Set(splitRegistered.map((r) => r.site));
    if (sites.size !== 1) throw new Error(`installations at several sites: ${[...sites].join(', ')}`);
    const splitSide: SplitSide = {
      deployment: split,
      client: splitClient,
      installations: splitRegistered.map((r) => r.id),
      site: split.site([...sites][0]!),
    };
    const baselineKey = randomBytes(32);
    const results: PhaseResult[] = [];
    for (const spec of plan.phases) {
      results.push(
        await runSmallPhase(
          spec,
          server,
          client,
          installations,
          plainSide,
          splitSide,
          baselineKey,
          scratch.path,
        ),
      );
    }
    return results;
  } finally {
    client.close();
    plainClient.close();
    splitClient.close();
    await server.stop();
    await plainServer.stop();
    await split.stop();
    await scratch.remove();
  }
}

/** `glasshouse up` with `samples.fingerprints: false`. */
interface PlainSide {
  readonly server: ServerProcess;
  readonly client: HttpClient;
  readonly installations: readonly string[];
}

interface SplitSide {
  readonly deployment: SplitDeployment;
  readonly client: HttpClient;
  readonly installations: readonly string[];
  /** The site process the installations belong to. */
  readonly site: ServerProcess;
}

async function runSmallPhase(
  spec: PhaseSpec,
  server: ServerProcess,
  client: HttpClient,
  installations: readonly string[],
  plain: PlainSide,
  split: SplitSide,
  baselineKey: Buffer,
  scratch: string,
): Promise<PhaseResult> {
  const hwmIsPhasePeak = server.beginPhase();
  split.deployment.control.beginPhase();
  split.site.beginPhase();
  const upload = (samples: readonly Buffer[], tag: string) =>
    httpRound(client, installations, samples, `${spec.label} ${tag}`);
  const uploadPlain = (samples: readonly Buffer[], tag: string) =>
    httpRound(plain.client, plain.installations, samples, `${spec.label} unfingerprinted ${tag}`);
  const uploadSplit = (samples: readonly Buffer[], tag: string) =>
    httpRound(split.client, split.installations, samples, `${spec.label} split ${tag}`);
  const baseline = async (samples: readonly Buffer[], tag: string, grouped = false) => {
    const dir = join(scratch, `baseline-${tag}`);
    try {
      return await baselineRound(samples, dir, baselineKey, grouped);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  log(`ingest: ${spec.label}: warm-up`);
  const warm = makeSamples(Math.min(spec.count, 16), spec.size);
  await baseline(warm, 'warm');
  await baseline(warm, 'warm-grouped', true);
  await upload(warm, 'warm-up');
  await uploadPlain(warm, 'warm-up');
  await uploadSplit(warm, 'warm-up');

  const baselineRounds: RoundResult[] = [];
  const groupedRounds: RoundResult[] = [];
  const httpRounds: RoundResult[] = [];
  const plainRounds: RoundResult[] = [];
  const splitRounds: RoundResult[] = [];
  for (let round = 0; round < spec.rounds; round += 1) {
    // Fresh random samples every round: the same bytes for every side, never seen by a server.
    const samples = makeSamples(spec.count, spec.size);
    const sides = [
      async () => baselineRounds.push(await baseline(samples, `r${round}`)),
      async () => groupedRounds.push(await baseline(samples, `r${round}-grouped`, true)),
      async () => httpRounds.push(await upload(samples, `round ${round + 1}`)),
      async () => plainRounds.push(await uploadPlain(samples, `round ${round + 1}`)),
      async () => splitRounds.push(await uploadSplit(samples, `round ${round + 1}`)),
    ];
    // Rotate which side goes first, so drift (page cache, disk, thermal) hits all alike.
    for (let i = 0; i < sides.length; i += 1) await sides[(round + i) % sides.length]!();
    if (!server.running) throw new Error(`the server exited:\n${server.output}`);
    if (!plain.server.running) throw new Error(`the server exited:\n${plain.server.output}`);
    split.deployment.checkRunning();
    const b = baselineRounds.at(-1)!;
    const g = groupedRounds.at(-1)!;
    const h = httpRounds.at(-1)!;
    const t = splitRounds.at(-1)!;
    const p = plainRounds.at(-1)!;
    log(
      `ingest: ${spec.label} × ${spec.count}, round ${round + 1}/${spec.rounds}: ` +
        `baseline ${fixed(mbps(b))} MB/s, grouped ${fixed(mbps(g))} MB/s, HTTP ${fixed(mbps(h))} MB/s, ` +
        `HTTP without fingerprints ${fixed(mbps(p))} MB/s, split ${fixed(mbps(t))} MB/s`,
    );
  }

  const baselineMbps = baselineRounds.map(mbps);
  const httpMbps = httpRounds.map(mbps);
  const splitMbps = splitRounds.map(mbps);
  const plainMbps = plainRounds.map(mbps);
  const plainSummary = summarize(plainMbps);
  const baselineSummary = summarize(baselineMbps);
  const groupedSummary = summarize(groupedRounds.map(mbps));
  const httpSummary = summarize(httpMbps);
  const splitSummary = summarize(splitMbps);
  return {
    spec,
    baseline: { mbps: baselineSummary, samplesPerSecond: summarize(baselineRounds.map(samplesPerSecond)) },
    grouped: {
      mbps: groupedSummary,
      samplesPerSecond: summarize(groupedRounds.map(samplesPerSecond)),
      ratio: httpSummary.median / groupedSummary.median,
    },
    http: { mbps: httpSummary, samplesPerSecond: summarize(httpRounds.map(samplesPerSecond)) },
    ratio: httpSummary.median / baselineSummary.median,
    pairedRatio: summarize(httpMbps.map((h, i) => h / baselineMbps[i]!)),
    serverPeakRss: server.endPhase(),
    hwmIsPhasePeak,
    unfingerprinted: {
      mbps: plainSummary,
      ratio: httpSummary.median / plainSummary.median,
      pairedRatio: summarize(httpMbps.map((h, i) => h / plainMbps[i]!)),
    },
    split: {
      mbps: splitSummary,
      samplesPerSecond: summarize(splitRounds.map(samplesPerSecond)),
      ratio: splitSummary.median / httpSummary.median,
      pairedRatio: summarize(splitMbps.map((t, i) => t / httpMbps[i]!)),
      controlPeakRss: split.deployment.control.endPhase(),
      sitePeakRss: split.site.endPhase(),
    },
  };
}

/**
 * One 1 GiB upload to a fresh server (so VmHWM is this upload's peak), the same streamed
 * in-process, and the same through a fresh control plane to a fresh site.
 */
async function runLargePhase(plan: Plan): Promise<LargeResult> {
  const scratch = tempDir('glasshouse-bench-ingest-large');
  const dataDir = join(scratch.path, 'data');
  try {
    await initDataDir(dataDir, { maxSampleBytes: 2 * LARGE_SIZE });
    const token = await createToken(dataDir, 'product');

    log('ingest: 1 GiB: baseline (streamed hash + sealStream + write + fsync)');
    const baselinePath = join(scratch.path, 'baseline.blob');
    const baselineStart = performance.now();
    await baselineStream(Readable.from(largeBody()), baselinePath, randomBytes(32));
    const baselineSeconds = (performance.now() - baselineStart) / 1000;
    await rm(baselinePath, { force: true });

    const server = await ServerProcess.start({ dataDir, nodeArgs: profileArgs(plan) });
    const client = new HttpClient({ baseUrl: server.baseUrl, token: token.token, maxSockets: 1 });
    try {
      const [installation] = await registerInstallations(client, 1);
      const serverIdleRss = server.memory()?.rss;
      server.beginPhase();
      log('ingest: 1 GiB: HTTP upload (streamed)');
      const start = performance.now();
      const result = await client
        .send('POST', `/v1/samples?installation=${installation}&filename=large.bin`, {
          headers: { 'content-type': 'application/octet-stream' },
          body: largeBody(),
          contentLength: LARGE_SIZE,
        })
        .catch((error: unknown) => ({ status: 0, body: String(error) }));
      const seconds = (performance.now() - start) / 1000;
      checkUpload(result, LARGE_SIZE, '1 GiB upload');
      const serverPeakRss = server.endPhase();
      client.close();
      await server.stop();
      return {
        bytes: LARGE_SIZE,
        http: { seconds, mbps: megabytesPerSecond(LARGE_SIZE, seconds) },
        baseline: { seconds: baselineSeconds, mbps: megabytesPerSecond(LARGE_SIZE, baselineSeconds) },
        serverIdleRss,
        serverPeakRss,
        split: await runLargeSplit(plan),
      };
    } finally {
      client.close();
      await server.stop();
    }
  } finally {
    await scratch.remove();
  }
}

async function runLargeSplit(plan: Plan): Promise<LargeResult['split']> {
  log('ingest: 1 GiB: starting a fresh split topology');
  const split = await SplitDeployment.start({
    tokens: ['product'],
    settings: { maxSampleBytes: 2 * LARGE_SIZE },
    nodeArgs: profileArgs(plan),
  });
  const client = new HttpClient({ baseUrl: split.control.baseUrl, token: split.tokens.product!.token });
  try {
    const [installation] = await registerInstallationsAt(client, 1);
    const site = split.site(installation!.site);
    const controlIdleRss = split.control.memory()?.rss;
    const siteIdleRss = site.memory()?.rss;
    split.control.beginPhase();
    site.beginPhase();
    log(`ingest: 1 GiB: HTTP upload through the control plane to site ${installation!.site} (streamed)`);
    const start = performance.now();
    const result = await client
      .send('POST', `/v1/samples?installation=${installation!.id}&filename=large.bin`, {
        headers: { 'content-type': 'application/octet-stream' },
        body: largeBody(),
        contentLength: LARGE_SIZE,
      })
      .catch((error: unknown) => ({ status: 0, body: String(error) }));
    const seconds = (performance.now() - start) / 1000;
    checkUpload(result, LARGE_SIZE, '1 GiB upload through the control plane');
    return {
      seconds,
      mbps: megabytesPerSecond(LARGE_SIZE, seconds),
      site: installation!.site,
      controlIdleRss,
      siteIdleRss,
      controlPeakRss: split.control.endPhase(),
      sitePeakRss: site.endPhase(),
    };
  } finally {
    client.close();
    await split.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// The two sides

/** All samples, CONCURRENCY at a time, spread over the installations; failures are recorded. */
async function httpRound(
  client: HttpClient,
  installations: readonly string[],
  samples: readonly Buffer[],
  what: string,
): Promise<RoundResult> {
  const start = performance.now();
  await runPool(samples.length, CONCURRENCY, async (i) => {
    const sample = samples[i]!;
    const installation = installations[i % installations.length]!;
    const result = await client
      .send('POST', `/v1/samples?installation=${installation}&filename=bench-${i}.bin`, {
        headers: { 'content-type': 'application/octet-stream' },
        body: sample,
      })
      .catch((error: unknown) => ({ status: 0, body: String(error) }));
    checkUpload(result, sample.length, `${what}, sample ${i}`);
  });
  return round(samples, start);
}

/**
 * The fair "no HTTP" baseline for one round: for each sample, MD5, SHA-1, SHA-256 and SHA-512,
 * encryption with the production `sealStream`, and open/write/fsync/close of a new file;
 * CONCURRENCY samples in flight, like the uploads. `grouped`: the fsyncs go through a group
 * commit instead (the files written while a batch syncs form the next batch, synced at once,
 * then their directory once), and a sample counts once its batch is durable.
 */
async function baselineRound(
  samples: readonly Buffer[],
  dir: string,
  key: Buffer,
  grouped = false,
): Promise<RoundResult> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const committer = grouped ? new FileGroupCommit(dir) : undefined;
  const start = performance.now();
  await runPool(samples.length, CONCURRENCY, async (i) => {
    const sample = samples[i]!;
    for (const algorithm of HASHES) createHash(algorithm).update(sample).digest('hex');
    const { header, encrypt } = sealStream(key);
    encrypt.end(sample);
    const sealed = (await encrypt.toArray()) as Buffer[];
    const handle = await open(join(dir, `${i}.blob`), 'wx', 0o600);
    try {
      await handle.writev([header, ...sealed]);
      if (committer === undefined) await handle.sync();
      else await committer.sync(handle);
    } finally {
      await handle.close();
    }
  });
  return round(samples, start);
}

/** The group commit of the second baseline: every file of a batch synced at once, then the directory. */
class FileGroupCommit {
  readonly #dir: string;
  #queue: { handle: FileHandle; done: () => void; failed: (error: unknown) => void }[] = [];
  #running: Promise<void> | undefined;

  constructor(dir: string) {
    this.#dir = dir;
  }

  sync(handle: FileHandle): Promise<void> {
    return new Promise((done, failed) => {
      this.#queue.push({ handle, done, failed });
      this.#running ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0);
      try {
        await Promise.all(batch.map(({ handle }) => handle.sync()));
        const directory = await open(this.#dir, 'r');
        try {
          await directory.sync();
        } finally {
          await directory.close();
        }
        for (const { done } of batch) done();
      } catch (error) {
        for (const { failed } of batch) failed(error);
      }
    }
    this.#running = undefined;
  }
}

/** The baseline for one large file: the same steps, streamed in bounded memory. */
async function baselineStream(source: Readable, path: string, key: Buffer): Promise<void> {
  const hashes = HASHES.map((algorithm) => createHash(algorithm));
  const { header, encrypt } = sealStream(key);
  const file = createWriteStream(path, { flags: 'wx', mode: 0o600, highWaterMark: MiB });
  file.write(header);
  await pipeline(
    source,
    async function* digest(chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        for (const hash of hashes) hash.update(chunk);
        yield chunk;
      }
    },
    encrypt,
    file,
  );
  for (const hash of hashes) hash.digest('hex');
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

async function registerInstallations(client: HttpClient, count: number): Promise<string[]> {
  return (await registerInstallationsAt(client, count)).map((r) => r.id);
}

/** New installations, with the site each was assigned to. */
async function registerInstallationsAt(
  client: HttpClient,
  count: number,
): Promise<{ id: string; site: string }[]> {
  const registered: { id: string; site: string }[] = [];
  for (let i = 0; i < count; i += 1) {
    const result = await client.json('POST', '/v1/installations', { country: 'DE', product: 'bench' });
    if (result.status !== 201) {
      throw new Error(`POST /v1/installations answered ${result.status}: ${result.body.slice(0, 500)}`);
    }
    const { id, site } = JSON.parse(result.body) as { id: string; site: string };
    registered.push({ id, site });
  }
  return registered;
}

function checkUpload(result: { status: number; body: string }, size: number, what: string): void {
  if (result.status !== 200 && result.status !== 201) {
    failures.push({
      what,
      status: result.status === 0 ? 'error' : result.status,
      detail: result.body.slice(0, 300),
    });
    return;
  }
  let stored: { size?: number } = {};
  try {
    stored = JSON.parse(result.body) as { size?: number };
  } catch {
    // reported below as a size mismatch
  }
  if (stored.size !== size) {
    failures.push({ what, status: result.status, detail: `stored size ${stored.size}, sent ${size}` });
  }
}

/** `count` distinct random samples of `size` bytes, so deduplication never short-circuits. */
function makeSamples(count: number, size: number): Buffer[] {
  return Array.from({ length: count }, () => randomBytes(size));
}

/**
 * 1 GiB in 1 MiB chunks without holding it: a random first chunk (a sample never seen
 * before), then a rotation over a small pool of random chunks.
 */
function* largeBody(): Generator<Buffer> {
  const pool = Array.from({ length: 8 }, () => randomBytes(MiB));
  yield randomBytes(MiB);
  for (let i = 1; i < LARGE_SIZE / MiB; i += 1) yield pool[i % pool.length]!;
}

function round(samples: readonly Buffer[], start: number): RoundResult {
  return {
    seconds: (performance.now() - start) / 1000,
    bytes: samples.reduce((sum, s) => sum + s.length, 0),
    samples: samples.length,
  };
}

function mbps(round: RoundResult): number {
  return megabytesPerSecond(round.bytes, round.seconds);
}

function samplesPerSecond(round: RoundResult): number {
  return round.samples / round.seconds;
}

function profileArgs(plan: Plan): string[] {
  return plan.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', plan.cpuProfDir];
}

// ---------------------------------------------------------------------------------------------
// Report

function report(plan: Plan, phases: readonly PhaseResult[], large: LargeResult | undefined): void {
  const first = phases[0];
  const small = phases.find((phase) => phase.spec.size < MiB);
  const ratioPass = first === undefined ? false : first.ratio >= RATIO_GOAL.large;
  const smallRatioPass = small === undefined ? undefined : small.ratio >= RATIO_GOAL.small;
  const rssPass =
    large === undefined ? undefined : (large.serverPeakRss.hwm ?? Number.POSITIVE_INFINITY) < RSS_GOAL;
  const splitRatioPass = first === undefined ? false : first.split.ratio >= SPLIT_RATIO_GOAL;
  const fingerprintRatioPass =
    first === undefined ? false : first.unfingerprinted.ratio >= FINGERPRINT_RATIO_GOAL;
  const splitRssPeak =
    large === undefined
      ? undefined
      : Math.max(
          large.split.controlPeakRss.hwm ?? Number.POSITIVE_INFINITY,
          large.split.sitePeakRss.hwm ?? Number.POSITIVE_INFINITY,
        );
  const splitRssPass = splitRssPeak === undefined ? undefined : splitRssPeak < RSS_GOAL;

  if (plan.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          benchmark: 'ingest',
          node: process.version,
          cpus: cpus().length,
          concurrency: CONCURRENCY,
          phases,
          large: large ?? null,
          goals: {
            ratio1MiB: { goal: RATIO_GOAL.large, value: first?.ratio ?? null, pass: ratioPass },
            ratio64KiB: { goal: RATIO_GOAL.small, value: small?.ratio ?? null, pass: smallRatioPass ?? null },
            rss1GiB: {
              goalBytes: RSS_GOAL,
              value: large?.serverPeakRss.hwm ?? null,
              pass: rssPass ?? null,
            },
            fingerprintRatio1MiB: {
              goal: FINGERPRINT_RATIO_GOAL,
              value: first?.unfingerprinted.ratio ?? null,
              pass: fingerprintRatioPass,
            },
            splitRatio1MiB: {
              goal: SPLIT_RATIO_GOAL,
              value: first?.split.ratio ?? null,
              pass: splitRatioPass,
            },
            splitRss1GiB: {
              goalBytes: RSS_GOAL,
              control: large?.split.controlPeakRss.hwm ?? null,
              site: large?.split.sitePeakRss.hwm ?? null,
              pass: splitRssPass ?? null,
            },
          },
          failures,
        },
        null,
        2,
      )}\n`,
    );
    return;
  }

  const out: string[] = [];
  out.push('');
  out.push(
    `Ingest: POST /v1/samples over HTTP vs. in-process baseline (MD5+SHA-1+SHA-256+SHA-512, sealStream, write+fsync);`,
  );
  out.push(
    `baseline, group commit: the same with the files that finish together fsynced together, then their directory once;`,
  );
  out.push(
    `split: the same uploads through glasshouse control to a glasshouse site process (mutual TLS, loopback); ` +
      `${CONCURRENCY} concurrent, medians (min–max) of ${first?.spec.rounds ?? 0} interleaved rounds; ` +
      `node ${process.version}, ${cpus().length} CPUs; MB = 10^6 bytes.`,
  );
  out.push('');
  const rows: string[][] = [];
  for (const phase of phases) {
    const name = `${phase.spec.label} × ${phase.spec.count}`;
    rows.push([
      `baseline ${name}`,
      withRange(phase.baseline.mbps),
      fixed(phase.baseline.samplesPerSecond.median),
      '',
      '(in-process)',
    ]);
    rows.push([
      `baseline ${name}, group commit`,
      withRange(phase.grouped.mbps),
      fixed(phase.grouped.samplesPerSecond.median),
      '',
      `(in-process; HTTP is ${fixed(phase.grouped.ratio, 2)}x of it)`,
    ]);
    const ratioGoal = phase.spec.size >= MiB ? RATIO_GOAL.large : RATIO_GOAL.small;
    const goal = ` (goal ≥ ${fixed(ratioGoal * 100, 0)}%: ${passFail(phase.ratio >= ratioGoal)})`;
    rows.push([
      `HTTP     ${name}`,
      withRange(phase.http.mbps),
      fixed(phase.http.samplesPerSecond.median),
      `${fixed(phase.ratio * 100, 0)}% [${fixed(phase.pairedRatio.min * 100, 0)}–${fixed(phase.pairedRatio.max * 100, 0)}%]${goal}`,
      `${mebibytes(phase.serverPeakRss.hwm)}${phase.hwmIsPhasePeak ? '' : ' (lifetime)'} / ${mebibytes(phase.serverPeakRss.sampledMax)} sampled`,
    ]);
    const fingerprintGoal =
      phase.spec.size === MiB
        ? ` (goal ≥ 0.8x: ${passFail(phase.unfingerprinted.ratio >= FINGERPRINT_RATIO_GOAL)})`
        : '';
    rows.push([
      `HTTP without fingerprints ${name}`,
      withRange(phase.unfingerprinted.mbps),
      '',
      `HTTP is ${fixed(phase.unfingerprinted.ratio, 2)}x this [${fixed(phase.unfingerprinted.pairedRatio.min, 2)}–${fixed(phase.unfingerprinted.pairedRatio.max, 2)}x]${fingerprintGoal}`,
      '',
    ]);
    const splitGoal =
      phase.spec.size === MiB ? ` (goal ≥ 0.8x: ${passFail(phase.split.ratio >= SPLIT_RATIO_GOAL)})` : '';
    rows.push([
      `split    ${name}`,
      withRange(phase.split.mbps),
      fixed(phase.split.samplesPerSecond.median),
      `${fixed(phase.split.ratio, 2)}x HTTP [${fixed(phase.split.pairedRatio.min, 2)}–${fixed(phase.split.pairedRatio.max, 2)}x]${splitGoal}`,
      `control ${mebibytes(phase.split.controlPeakRss.hwm)}, site ${mebibytes(phase.split.sitePeakRss.hwm)}`,
    ]);
  }
  out.push(
    renderTable(
      [
        { header: 'phase' },
        { header: 'MB/s median (min–max)', align: 'right' },
        { header: 'samples/s', align: 'right' },
        { header: 'ratio vs baseline (split: vs HTTP) [per round]' },
        { header: 'server peak RSS (VmHWM / VmRSS@100ms)' },
      ],
      rows,
    ),
  );

  if (large !== undefined) {
    out.push('');
    out.push(
      renderTable(
        [
          { header: '1 GiB single upload' },
          { header: 'seconds', align: 'right' },
          { header: 'MB/s', align: 'right' },
          { header: 'ratio', align: 'right' },
          { header: 'server peak RSS (VmHWM / VmRSS@100ms)' },
          { header: 'goal < 256 MiB' },
        ],
        [
          [
            'baseline (streamed)',
            fixed(large.baseline.seconds),
            fixed(large.baseline.mbps),
            '',
            '(in-process)',
            '',
          ],
          [
            'HTTP (streamed)',
            fixed(large.http.seconds),
            fixed(large.http.mbps),
            `${fixed((large.http.mbps / large.baseline.mbps) * 100, 0)}%`,
            `${mebibytes(large.serverPeakRss.hwm)} / ${mebibytes(large.serverPeakRss.sampledMax)} (idle before: ${mebibytes(large.serverIdleRss)})`,
            passFail(rssPass === true),
          ],
          [
            'split: control',
            fixed(large.split.seconds),
            fixed(large.split.mbps),
            `${fixed((large.split.mbps / large.baseline.mbps) * 100, 0)}%`,
            `${mebibytes(large.split.controlPeakRss.hwm)} / ${mebibytes(large.split.controlPeakRss.sampledMax)} (idle before: ${mebibytes(large.split.controlIdleRss)})`,
            passFail((large.split.controlPeakRss.hwm ?? Number.POSITIVE_INFINITY) < RSS_GOAL),
          ],
          [
            `split: site ${large.split.site}`,
            '',
            '',
            '',
            `${mebibytes(large.split.sitePeakRss.hwm)} / ${mebibytes(large.split.sitePeakRss.sampledMax)} (idle before: ${mebibytes(large.split.siteIdleRss)})`,
            passFail((large.split.sitePeakRss.hwm ?? Number.POSITIVE_INFINITY) < RSS_GOAL),
          ],
        ],
      ),
    );
  }

  out.push('');
  out.push('Goals:');
  out.push(
    `  HTTP ingest of 1 MiB samples >= 80% of baseline: ${first === undefined ? 'n/a' : `${fixed(first.ratio * 100, 0)}%`}  ${passFail(ratioPass)}`,
  );
  out.push(
    small === undefined
      ? '  HTTP ingest of 64 KiB samples >= 60% of baseline: n/a'
      : `  HTTP ingest of 64 KiB samples >= 60% of baseline: ${fixed(small.ratio * 100, 0)}% (${fixed(small.grouped.ratio, 2)}x the group-commit baseline)  ${passFail(smallRatioPass === true)}`,
  );
  out.push(
    rssPass === undefined
      ? '  1 GiB upload, server RSS < 256 MiB: skipped (--quick or --no-large)'
      : `  1 GiB upload, server RSS < 256 MiB: ${mebibytes(large?.serverPeakRss.hwm)}  ${passFail(rssPass)}`,
  );
  out.push(
    `  HTTP ingest of 1 MiB samples with fuzzy hashes and type >= 0.8x without them: ${first === undefined ? 'n/a' : `${fixed(first.unfingerprinted.ratio, 2)}x`}  ${passFail(fingerprintRatioPass)}`,
  );
  out.push(
    `  split, 1 MiB samples through the control plane >= 0.8x all-in-one HTTP: ${first === undefined ? 'n/a' : `${fixed(first.split.ratio, 2)}x`}  ${passFail(splitRatioPass)}`,
  );
  out.push(
    splitRssPass === undefined || large === undefined
      ? '  split, 1 GiB upload, RSS < 256 MiB in each process: skipped (--quick or --no-large)'
      : `  split, 1 GiB upload, RSS < 256 MiB in each process: control ${mebibytes(large.split.controlPeakRss.hwm)}, site ${mebibytes(large.split.sitePeakRss.hwm)}  ${passFail(splitRssPass)}`,
  );
  out.push(
    `  every upload answered 200/201: ${failures.length === 0 ? 'PASS' : `FAIL (${failures.length} failed)`}`,
  );
  for (const failure of failures.slice(0, 10)) {
    out.push(`    ${failure.what}: ${failure.status} ${failure.detail}`);
  }
  if (failures.length > 10) out.push(`    … and ${failures.length - 10} more`);
  process.stdout.write(`${out.join('\n')}\n`);
}
