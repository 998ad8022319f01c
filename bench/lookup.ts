/**
 * Hash look-up benchmark. Loads N verdicts (10,000,000; 1,000,000 with --quick) into a
 * `glasshouse up` child process through `POST /v1/verdicts/import` (the realistic path: one
 * NDJSON feed, streamed), and the same keys into Debian's `redis-server` (started here on
 * loopback, no persistence) with pipelined MSET. Then, in the same run:
 *
 * - batch look-ups: 4 concurrent clients, 1,000 hashes a request, half known: our
 *   `POST /v1/lookup` (text/plain in, NDJSON out) vs Redis `MGET` of the same 1,000 keys;
 * - single look-ups: autocannon against `GET /v1/lookup/{hash}` vs a bare Fastify route that
 *   answers a constant, in a process of the same kind, same connections and duration;
 * - the index's memory per hash, in-process, at 1M and N SHA-256 digests.
 *
 * Goals (from the issue): batch >= 1.0x Redis; single >= 0.8x the bare route, p99 < 10 ms.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { VerdictIndex } from '../src/control/lookup/verdict-index.js';
import type { Benchmark } from './support/benchmark.js';
import { onCleanup, runCleanups, tempDir } from './support/cleanup.js';
import { HttpClient } from './support/http.js';
import { runPool } from './support/pool.js';
import { createToken, freePort, initDataDir, REPO_ROOT, ServerProcess } from './support/server.js';
import { type Summary, summarize } from './support/stats.js';
import { fixed, mebibytes, passFail, renderTable, withRange } from './support/table.js';

const CLIENTS = 4;
const BATCH = 1000;
const BATCH_GOAL = 1.0;
const SINGLE_GOAL = 0.8;
const P99_GOAL_MS = 10;
const THREATS = 1000;

interface Plan {
  readonly count: number;
  readonly rounds: number;
  readonly batchesPerClient: number;
  readonly singleSeconds: number;
  readonly connections: number;
  readonly json: boolean;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

function planFrom(args: readonly string[]): Plan {
  const { values } = parseArgs({
    args: [...args],
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      count: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const quick = values.quick === true;
  const rounds = values.rounds === undefined ? (quick ? 3 : 5) : Number(values.rounds);
  const count = values.count === undefined ? (quick ? 1_000_000 : 10_000_000) : Number(values.count);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds expects a positive integer');
  if (!Number.isInteger(count) || count < BATCH) throw new Error(`--count expects an integer >= ${BATCH}`);
  return {
    count,
    rounds,
    batchesPerClient: quick ? 60 : 250,
    singleSeconds: quick ? 5 : 10,
    connections: 16,
    json: values.json === true,
  };
}

const lookup: Benchmark = {
  name: 'lookup',
  summary: 'hash look-ups on 10M verdicts: batch vs Redis MGET, single vs a bare Fastify route',
  options: [
    '--quick         1,000,000 verdicts and shorter rounds (a smoke run)',
    '--count N       verdicts to load (default 10,000,000)',
    '--rounds N      rounds per phase (default 5, or 3 with --quick)',
    '--json          print the results as JSON on stdout instead of tables',
  ],
  async run(args) {
    const plan = planFrom(args);
    try {
      const memory = measureIndexMemory(plan.count);
      const result = await runAgainstServers(plan);
      report(plan, { ...result, memory });
      return 0;
    } finally {
      await runCleanups();
    }
  },
};
export default lookup;

// ---------------------------------------------------------------------------------------------
// Data

/** N random SHA-256 digests, back to back; half of each query batch is drawn from them. */
function makeDigests(count: number): Buffer {
  const out = Buffer.allocUnsafe(count * 32);
  for (let offset = 0; offset < out.length; offset += 1 << 24) {
    randomBytes(Math.min(1 << 24, out.length - offset)).copy(out, offset);
  }
  return out;
}

const hexAt = (digests: Buffer, i: number) => digests.toString('hex', i * 32, i * 32 + 32);
const verdictOf = (i: number) => (i % 3 === 0 ? 'clean' : i % 3 === 1 ? 'malicious' : 'suspicious');
const threatOf = (i: number) => `Trojan.Win32.Bench.${i % THREATS}`;
const firstSeenOf = (i: number) => new Date(Date.UTC(2015, 0, 1) + (i % 3650) * 86_400_000).toISOString();

async function writeFeed(file: string, digests: Buffer, count: number): Promise<void> {
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  let chunk = '';
  for (let i = 0; i < count; i += 1) {
    chunk += `{"hash":"${hexAt(digests, i)}","verdict":"${verdictOf(i)}","threat":"${threatOf(i)}","firstSeen":"${firstSeenOf(i)}","source":"bench"}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      chunk = '';
    }
  }
  out.end(chunk);
  await new Promise<void>((resolve, reject) => out.once('finish', () => resolve()).once('error', reject));
}

interface QueryBatch {
  readonly hashes: string[];
  readonly text: string;
}

function makeBatches(digests: Buffer, count: number, batches: number): QueryBatch[] {
  return Array.from({ length: batches }, () => {
    const hashes = Array.from({ length: BATCH }, (_, j) =>
      j % 2 === 0 ? hexAt(digests, randomInt(count)) : randomBytes(32).toString('hex'),
    );
    return { hashes, text: `${hashes.join('\n')}\n` };
  });
}

// ---------------------------------------------------------------------------------------------
// Memory of the index, in-process

interface MemoryResult {
  readonly entries: number;
  readonly tableBytes: number;
  readonly arrayBuffersDelta: number;
  readonly bytesPerHash: number;
}

function measureIndexMemory(count: number): MemoryResult[] {
  const sizes = [...new Set([1_000_000, count])];
  return sizes.map((n) => {
    const before = process.memoryUsage().arrayBuffers;
    const index = new VerdictIndex({ md5: 0, sha1: 0, sha256: n });
    index.addThreats([{ id: 1, name: 'x' }]);
    // A store scan hands rows over in digest order. Random digests spread evenly over the
    // prefix range, generated in order here (sorting ten million Buffers would measure the GC).
    const step = 2 ** 32 / n;
    for (let i = 0; i < n; i += 65536) {
      const block = makeDigests(Math.min(65536, n - i));
      const rows = Array.from({ length: block.length / 32 }, (_, j) => {
        const digest = block.subarray(j * 32, j * 32 + 32);
        digest.writeUInt32BE(Math.min(2 ** 32 - 1, Math.floor((i + j) * step + Math.random() * step)), 0);
        return { kind: 'sha256' as const, digest, verdict: 'malicious' as const, threatId: 1, firstSeen: 1 };
      });
      index.appendSorted(rows);
    }
    const delta = process.memoryUsage().arrayBuffers - before;
    log(`lookup: index of ${n} SHA-256 digests: ${index.byteLength} bytes in its table`);
    return {
      entries: index.size,
      tableBytes: index.byteLength,
      arrayBuffersDelta: delta,
      bytesPerHash: index.byteLength / index.size,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Servers

interface ServerResults {
  readonly importSeconds: number;
  readonly importBytes: number;
  readonly redisLoadSeconds: number;
  readonly batch: { readonly ours: Summary; readonly redis: Summary; readonly ratio: number };
  readonly single: {
    readonly ours: Summary;
    readonly bare: Summary;
    readonly ratio: number;
    readonly oursP99: Summary;
    readonly bareP99: Summary;
  };
  readonly serverRss: { readonly afterImport: number | undefined; readonly peak: number | undefined };
  readonly redisRss: number | undefined;
}

async function runAgainstServers(plan: Plan): Promise<ServerResults> {
  const scratch = tempDir('glasshouse-bench-lookup');
  const dataDir = join(scratch.path, 'data');
  log(`lookup: generating ${plan.count} verdicts`);
  const digests = makeDigests(plan.count);
  const feed = join(scratch.path, 'feed.ndjson');
  await writeFeed(feed, digests, plan.count);
  const feedBytes = statSync(feed).size;

  await initDataDir(dataDir);
  const analyst = await createToken(dataDir, 'analyst');
  const product = await createToken(dataDir, 'product');
  const server = await ServerProcess.start({ dataDir });
  const redis = await startRedis();
  try {
    log(`lookup: importing ${feedBytes} bytes through POST /v1/verdicts/import`);
    const importer = new HttpClient({ baseUrl: server.baseUrl, token: analyst.token, maxSockets: 1 });
    const start = performance.now();
    const imported = await importer.send('POST', '/v1/verdicts/import', {
      headers: { 'content-type': 'application/x-ndjson' },
      body: createReadStream(feed, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>,
      contentLength: feedBytes,
    });
    const importSeconds = (performance.now() - start) / 1000;
    importer.close();
    if (imported.status !== 200) throw new Error(`import failed: ${imported.status} ${imported.body}`);
    log(
      `lookup: imported in ${fixed(importSeconds)} s (${fixed(plan.count / importSeconds / 1000)}k lines/s)`,
    );
    const afterImport = server.memory()?.rss;

    log('lookup: loading the same keys into Redis (pipelined MSET)');
    const redisStart = performance.now();
    await loadRedis(redis.port, digests, plan.count);
    const redisLoadSeconds = (performance.now() - redisStart) / 1000;

    const batches = makeBatches(digests, plan.count, 400);
    const batch = await runBatchPhase(plan, server.baseUrl, product.token, redis.port, batches);
    const single = await runSinglePhase(plan, server.baseUrl, product.token, batches);
    return {
      importSeconds,
      importBytes: feedBytes,
      redisLoadSeconds,
      batch,
      single,
      serverRss: { afterImport, peak: server.memory()?.hwm },
      redisRss: redis.rss(),
    };
  } finally {
    await redis.stop();
    await server.stop();
    await scratch.remove();
  }
}

async function startRedis(): Promise<{
  port: number;
  rss: () => number | undefined;
  stop: () => Promise<void>;
}> {
  let binary: string;
  try {
    binary = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
  } catch {
    log('lookup: redis-server missing; installing Debian’s (apt-get install -y redis-server)');
    execFileSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'inherit' });
    binary = '/usr/bin/redis-server';
  }
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'yes',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  onCleanup(stop);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', () => reject(new Error(`redis-server exited:\n${output}`)));
  });
  const rss = () => {
    try {
      const status = execFileSync('cat', [`/proc/${child.pid}/status`], { encoding: 'utf8' });
      const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
      return match === null ? undefined : Number(match[1]) * 1024;
    } catch {
      return undefined;
    }
  };
  return { port, rss, stop };
}

/** The same keys and an answer of the same shape as ours, in MSETs of 1,000 pairs, 16 in flight. */
async function loadRedis(port: number, digests: Buffer, count: number): Promise<void> {
  const client = new Redis({ port, host: '127.0.0.1' });
  try {
    const chunks = Math.ceil(count / BATCH);
    await runPool(chunks, 16, async (c) => {
      const args: string[] = [];
      for (let i = c * BATCH; i < Math.min(count, (c + 1) * BATCH); i += 1) {
        args.push(
          hexAt(digests, i),
          `{"verdict":"${verdictOf(i)}","threat":"${threatOf(i)}","firstSeen":"${firstSeenOf(i).slice(0, 19)}Z"}`,
        );
      }
      await client.mset(...args);
    });
  } finally {
    client.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// Batch look-ups

async function runBatchPhase(
  plan: Plan,
  baseUrl: string,
  token: string,
  redisPort: number,
  batches: readonly QueryBatch[],
): Promise<ServerResults['batch']> {
  const http = new HttpClient({ baseUrl, token, maxSockets: CLIENTS });
  const redisClients = Array.from(
    { length: CLIENTS },
    () => new Redis({ port: redisPort, host: '127.0.0.1' }),
  );
  const total = CLIENTS * plan.batchesPerClient;
  const ours = async () => {
    const start = performance.now();
    await runPool(total, CLIENTS, async (i) => {
      const batch = batches[i % batches.length]!;
      const answer = await http.send('POST', '/v1/lookup', {
        headers: { 'content-type': 'text/plain' },
        body: Buffer.from(batch.text),
      });
      if (answer.status !== 200)
        throw new Error(`batch look-up: ${answer.status} ${answer.body.slice(0, 200)}`);
      // Split the answer into its lines, as a client would, and check the count.
      if (answer.body.split('\n').length !== BATCH + 1)
        throw new Error('batch look-up: wrong number of lines');
    });
    return (total * BATCH) / ((performance.now() - start) / 1000);
  };
  const redis = async () => {
    const start = performance.now();
    let next = 0;
    await Promise.all(
      redisClients.map(async (client) => {
        while (next < total) {
          const batch = batches[next++ % batches.length]!;
          const values = await client.mget(batch.hashes);
          if (values.length !== BATCH) throw new Error('MGET: wrong number of values');
        }
      }),
    );
    return (total * BATCH) / ((performance.now() - start) / 1000);
  };
  try {
    log('lookup: batch: warm-up');
    await ours();
    await redis();
    const oursRounds: number[] = [];
    const redisRounds: number[] = [];
    for (let round = 0; round < plan.rounds; round += 1) {
      // Alternate which side goes first, so drift hits both alike.
      if (round % 2 === 0) {
        oursRounds.push(await ours());
        redisRounds.push(await redis());
      } else {
        redisRounds.push(await redis());
        oursRounds.push(await ours());
      }
      log(
        `lookup: batch round ${round + 1}/${plan.rounds}: ours ${fixed(oursRounds.at(-1)! / 1e3)}k hashes/s, ` +
          `Redis ${fixed(redisRounds.at(-1)! / 1e3)}k hashes/s`,
      );
    }
    const o = summarize(oursRounds);
    const r = summarize(redisRounds);
    return { ours: o, redis: r, ratio: o.median / r.median };
  } finally {
    http.close();
    for (const client of redisClients) client.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// Single look-ups

async function runSinglePhase(
  plan: Plan,
  baseUrl: string,
  token: string,
  batches: readonly QueryBatch[],
): Promise<ServerResults['single']> {
  const bare = await startBareServer();
  // The same 1,000 paths (half known) for both; autocannon cycles through them.
  const requests = batches[0]!.hashes.map((hash) => ({ method: 'GET', path: `/v1/lookup/${hash}` }));
  const cannon = async (url: string, headers: Record<string, string>) => {
    const result = await autocannon({
      url,
      connections: plan.connections,
      duration: plan.singleSeconds,
      headers,
      requests,
    });
    if (result.errors > 0 || result.non2xx > 0) {
      throw new Error(`autocannon against ${url}: ${result.errors} errors, ${result.non2xx} non-2xx`);
    }
    return { rps: result.requests.average, p99: result.latency.p99 };
  };
  try {
    log('lookup: single: warm-up');
    await cannon(baseUrl, { authorization: `Bearer ${token}` });
    await cannon(bare.baseUrl, {});
    const ours: { rps: number; p99: number }[] = [];
    const baseline: { rps: number; p99: number }[] = [];
    for (let round = 0; round < plan.rounds; round += 1) {
      const o = () => cannon(baseUrl, { authorization: `Bearer ${token}` });
      const b = () => cannon(bare.baseUrl, {});
      if (round % 2 === 0) {
        ours.push(await o());
        baseline.push(await b());
      } else {
        baseline.push(await b());
        ours.push(await o());
      }
      log(
        `lookup: single round ${round + 1}/${plan.rounds}: ours ${fixed(ours.at(-1)!.rps)} req/s ` +
          `(p99 ${ours.at(-1)!.p99} ms), bare ${fixed(baseline.at(-1)!.rps)} req/s (p99 ${baseline.at(-1)!.p99} ms)`,
      );
    }
    const o = summarize(ours.map((r) => r.rps));
    const b = summarize(baseline.map((r) => r.rps));
    return {
      ours: o,
      bare: b,
      ratio: o.median / b.median,
      oursP99: summarize(ours.map((r) => r.p99)),
      bareP99: summarize(baseline.map((r) => r.p99)),
    };
  } finally {
    await bare.stop();
  }
}

async function startBareServer(): Promise<{ baseUrl: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'bench/support/bare-server.ts'), String(port)],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  const release = onCleanup(stop);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', () => reject(new Error('the bare server exited')));
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    stop: async () => {
      release();
      await stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Report

function report(plan: Plan, result: ServerResults & { memory: MemoryResult[] }): void {
  const batchPass = result.batch.ratio >= BATCH_GOAL;
  const singlePass = result.single.ratio >= SINGLE_GOAL;
  const p99Pass = result.single.oursP99.median < P99_GOAL_MS;
  if (plan.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          benchmark: 'lookup',
          node: process.version,
          cpus: cpus().length,
          plan,
          ...result,
          goals: {
            batchVsRedis: { goal: BATCH_GOAL, value: result.batch.ratio, pass: batchPass },
            singleVsBare: { goal: SINGLE_GOAL, value: result.single.ratio, pass: singlePass },
            singleP99Ms: { goal: P99_GOAL_MS, value: result.single.oursP99.median, pass: p99Pass },
          },
        },
        null,
        2,
      )}\n`,
    );
    return;
  }
  const out: string[] = [''];
  out.push(
    `Look-ups on ${plan.count.toLocaleString('en')} verdicts (SHA-256); medians (min–max) of ${plan.rounds} interleaved rounds; ` +
      `node ${process.version}, ${cpus().length} CPUs.`,
  );
  out.push(
    `Import: ${fixed(result.importBytes / 1e6, 0)} MB NDJSON in ${fixed(result.importSeconds)} s ` +
      `(${fixed(plan.count / result.importSeconds / 1e3, 0)}k lines/s) through POST /v1/verdicts/import; ` +
      `Redis MSET load ${fixed(result.redisLoadSeconds)} s.`,
  );
  out.push('');
  out.push(
    renderTable(
      [
        { header: `batch: ${CLIENTS} clients × ${BATCH} hashes, half known` },
        { header: 'k hashes/s', align: 'right' },
        { header: 'ratio' },
      ],
      [
        [
          'POST /v1/lookup (text/plain → NDJSON)',
          withRange(scale(result.batch.ours, 1e-3)),
          `${fixed(result.batch.ratio, 2)}x`,
        ],
        ['Redis MGET (same keys, ioredis)', withRange(scale(result.batch.redis, 1e-3)), ''],
      ],
    ),
  );
  out.push('');
  out.push(
    renderTable(
      [
        { header: `single: autocannon, ${plan.connections} connections, ${plan.singleSeconds} s` },
        { header: 'req/s', align: 'right' },
        { header: 'p99 ms', align: 'right' },
        { header: 'ratio' },
      ],
      [
        [
          'GET /v1/lookup/{hash} (auth, metrics, index)',
          withRange(result.single.ours, 0),
          withRange(result.single.oursP99, 0),
          `${fixed(result.single.ratio, 2)}x`,
        ],
        [
          'bare Fastify route, constant answer',
          withRange(result.single.bare, 0),
          withRange(result.single.bareP99, 0),
          '',
        ],
      ],
    ),
  );
  out.push('');
  out.push(
    renderTable(
      [
        { header: 'index (SHA-256, in-process)' },
        { header: 'table bytes', align: 'right' },
        { header: 'arrayBuffers Δ', align: 'right' },
        { header: 'bytes/hash', align: 'right' },
      ],
      result.memory.map((m) => [
        `${m.entries.toLocaleString('en')} digests`,
        mebibytes(m.tableBytes, 1),
        mebibytes(m.arrayBuffersDelta, 1),
        fixed(m.bytesPerHash, 1),
      ]),
    ),
  );
  out.push('');
  out.push(
    `Server RSS after import ${mebibytes(result.serverRss.afterImport)}, peak ${mebibytes(result.serverRss.peak)}; ` +
      `Redis RSS ${mebibytes(result.redisRss)}.`,
  );
  out.push('');
  out.push('Goals:');
  out.push(`  batch look-ups >= 1.0x Redis: ${fixed(result.batch.ratio, 2)}x  ${passFail(batchPass)}`);
  out.push(
    `  single look-ups >= 0.8x the bare route: ${fixed(result.single.ratio, 2)}x  ${passFail(singlePass)}`,
  );
  out.push(
    `  single look-up p99 < 10 ms: ${fixed(result.single.oursP99.median, 0)} ms  ${passFail(p99Pass)}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

function scale(summary: Summary, factor: number): Summary {
  return {
    median: summary.median * factor,
    min: summary.min * factor,
    max: summary.max * factor,
    n: summary.n,
  };
}
