/**
 * Engines benchmark: Glasshouse on its engines beside what it is compared with, in the same
 * run. Two `glasshouse up` child processes: one on the embedded stores (SQLite, files,
 * DuckDB), one whose control plane and sites keep their metadata in PostgreSQL, their blobs
 * and tiles in S3 (s3rver) and their statistics in ClickHouse, all started here by the test
 * harnesses.
 *
 * - ingest: the same 1 MiB and 64 KiB samples uploaded to both, in interleaved rounds; the
 *   ratio engines / embedded is printed as information (the issue sets no goal).
 * - events: the telemetry NDJSON posted to the engines server, timed until the aggregates
 *   count every row, beside ClickHouse loading the same file itself (`clickhouse-client
 *   --query "INSERT INTO … FORMAT JSONEachRow"`) into a table of the same shape, joined with
 *   the installations' countries as the server does from its registry. Goal >= 0.5x.
 * - aggregate: day × country × threat through the API beside the same SQL run directly in
 *   ClickHouse on the baseline's table, its rows read into JS by ClickHouse's own client as
 *   the site's store reads them. Goal <= 1.5x the time.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from '@clickhouse/client';
import { aggregateSql, EVENTS_TABLE_DDL } from '../src/adapters/storage/clickhouse/clickhouse-sql.js';
import type { Benchmark } from './support/benchmark.js';
import { runCleanups, tempDir } from './support/cleanup.js';
import {
  type Engines,
  EXAMPLE_NODES,
  engineCpuSources,
  startEngines,
  useEngines,
} from './support/engines.js';
import { HttpClient } from './support/http.js';
import { runPool } from './support/pool.js';
import { processCpuSeconds } from './support/proc.js';
import { createToken, initDataDir, ServerProcess } from './support/server.js';
import { KiB, MiB, median, megabytesPerSecond, type Summary, summarize } from './support/stats.js';
import { fixed, passFail, renderTable, withRange } from './support/table.js';
import {
  BATCH,
  compareAggregates,
  generateEvents,
  type Installation,
  postEvents,
  registerInstallations,
  waitUntilCounted,
} from './support/telemetry.js';

const CONCURRENCY = 8;
const EVENT_CLIENTS = 4;
const EVENTS_GOAL = 0.5;
const AGGREGATE_GOAL = 1.5;
/** The baseline's ClickHouse database, beside the sites' own. */
const BASELINE_DATABASE = 'bench';

const log = (line: string) => process.stderr.write(`${line}\n`);

interface PhaseSpec {
  readonly label: string;
  readonly size: number;
  readonly count: number;
  readonly rounds: number;
}

interface Plan {
  readonly phases: readonly PhaseSpec[];
  readonly events: number;
  readonly aggregateRounds: number;
  readonly json: boolean;
  readonly cpuProfDir: string | undefined;
}

interface PhaseResult {
  readonly spec: PhaseSpec;
  readonly embedded: Summary;
  readonly engines: Summary;
  /** median(engines MB/s) / median(embedded MB/s). */
  readonly ratio: number;
  /** engines / embedded of each interleaved round. */
  readonly pairedRatio: Summary;
  /** CPU seconds of each process over the phase's rounds (both sides). */
  readonly cpu: CpuSeconds;
}

type CpuSeconds = Readonly<Record<string, number>>;

interface EventsResult {
  readonly events: number;
  readonly fileBytes: number;
  readonly baselineSeconds: number;
  readonly ackSeconds: number;
  readonly loadedSeconds: number;
  /** CPU seconds of each process while ClickHouse loaded the file, and while the server did. */
  readonly cpu: { readonly baseline: CpuSeconds; readonly http: CpuSeconds };
  readonly aggregate: { readonly apiMs: number[]; readonly sqlMs: number[]; readonly groups: number };
}

interface Failure {
  readonly what: string;
  readonly status: number | 'error';
  readonly detail: string;
}

/** Failed uploads, reported at the end; any makes the benchmark exit non-zero. */
const failures: Failure[] = [];

function planFrom(args: readonly string[]): Plan {
  const { values } = parseArgs({
    args: [...args],
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      events: { type: 'string' },
      json: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const quick = values.quick === true;
  const rounds = values.rounds === undefined ? (quick ? 3 : 5) : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds expects a positive integer');
  const events = values.events === undefined ? (quick ? 200_000 : 2_000_000) : Number(values.events);
  if (!Number.isInteger(events) || events < BATCH) throw new Error(`--events expects an integer >= ${BATCH}`);
  return {
    phases: [
      { label: '1 MiB', size: MiB, count: quick ? 16 : 64, rounds },
      { label: '64 KiB', size: 64 * KiB, count: quick ? 64 : 256, rounds },
    ],
    events,
    aggregateRounds: rounds,
    json: values.json === true,
    cpuProfDir: values['cpu-prof'],
  };
}

const engines: Benchmark = {
  name: 'engines',
  summary:
    'on PostgreSQL + S3 + ClickHouse: sample ingest vs the embedded stores, events and the detections aggregate vs ClickHouse itself',
  options: [
    '--quick         fewer, smaller rounds and 200,000 events (a smoke run)',
    '--rounds N      rounds per ingest phase and aggregate runs (default 5, or 3 with --quick)',
    '--events N      how many events (default 2,000,000)',
    '--json          print the results as JSON on stdout instead of tables',
    '--cpu-prof DIR  run the servers under `node --cpu-prof` and write their profiles to DIR',
  ],
  async run(args) {
    const plan = planFrom(args);
    try {
      const measured = await measure(plan);
      report(plan, measured);
    } catch (error) {
      for (const failure of failures.slice(0, 10))
        log(`failed: ${failure.what}: ${failure.status} ${failure.detail}`);
      throw error;
    } finally {
      await runCleanups();
    }
    return failures.length === 0 ? 0 : 1;
  },
};
export default engines;

interface Measured {
  readonly versions: Engines['versions'];
  readonly phases: PhaseResult[];
  readonly events: EventsResult;
}

async function measure(plan: Plan): Promise<Measured> {
  log('engines: starting PostgreSQL, s3rver and ClickHouse');
  const started = await startEngines(EXAMPLE_NODES);
  log(
    `engines: PostgreSQL ${started.versions.postgres}, ClickHouse ${started.versions.clickhouse}, s3rver at ${started.s3.endpoint}`,
  );
  const scratch = tempDir('glasshouse-bench-engines');
  const embeddedDir = join(scratch.path, 'embedded');
  const enginesDir = join(scratch.path, 'engines');
  await initDataDir(embeddedDir);
  await initDataDir(enginesDir);
  const configFile = join(enginesDir, 'config.yaml');
  useEngines(configFile, started);
  const embeddedToken = await createToken(embeddedDir, 'product');
  const [product, analyst] = [
    await createToken(enginesDir, 'product', started.env),
    await createToken(enginesDir, 'analyst', started.env),
  ];
  const nodeArgs = plan.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', plan.cpuProfDir];
  const embedded = await ServerProcess.start({ dataDir: embeddedDir, nodeArgs });
  const onEngines = await ServerProcess.start({ dataDir: enginesDir, env: started.env, nodeArgs });
  const embeddedClient = new HttpClient({
    baseUrl: embedded.baseUrl,
    token: embeddedToken.token,
    maxSockets: CONCURRENCY,
  });
  const enginesClient = new HttpClient({
    baseUrl: onEngines.baseUrl,
    token: product.token,
    maxSockets: CONCURRENCY,
  });
  const reader = new HttpClient({ baseUrl: onEngines.baseUrl, token: analyst.token, maxSockets: 1 });
  const cpu: CpuSources = {
    'embedded server': () => processCpuSeconds(embedded.pid),
    'engines server': () => processCpuSeconds(onEngines.pid),
    ...engineCpuSources(started),
    // The load generators, and (as waited-for children) clickhouse-client.
    'benchmark clients': () => processCpuSeconds('self'),
    'clickhouse-client': () => {
      const [all, own] = [processCpuSeconds('self', { children: true }), processCpuSeconds('self')];
      return all === undefined || own === undefined ? undefined : all - own;
    },
  };
  try {
    const sides: Sides = {
      embedded: { server: embedded, client: embeddedClient, installations: await registerDE(embeddedClient) },
      engines: { server: onEngines, client: enginesClient, installations: await registerDE(enginesClient) },
    };
    const phases: PhaseResult[] = [];
    for (const spec of plan.phases) phases.push(await runIngestPhase(spec, sides, cpu));
    await embedded.stop();
    const events = await runEvents(plan, started, enginesClient, reader, scratch.path, cpu);
    if (!onEngines.running) throw new Error(`the server on engines exited:\n${onEngines.output}`);
    return { versions: started.versions, phases, events };
  } finally {
    embeddedClient.close();
    enginesClient.close();
    reader.close();
    await embedded.stop();
    await onEngines.stop();
    await scratch.remove();
  }
}

// ---------------------------------------------------------------------------------------------
// Ingest

interface Side {
  readonly server: ServerProcess;
  readonly client: HttpClient;
  readonly installations: readonly string[];
}

interface Sides {
  readonly embedded: Side;
  readonly engines: Side;
}

async function runIngestPhase(spec: PhaseSpec, sides: Sides, cpu: CpuSources): Promise<PhaseResult> {
  const upload = (side: Side, samples: readonly Buffer[], what: string) =>
    uploadRound(side, samples, `${spec.label} ${what}`);
  log(`engines: ingest ${spec.label}: warm-up`);
  const warm = makeSamples(Math.min(spec.count, 16), spec.size);
  await upload(sides.embedded, warm, 'embedded warm-up');
  await upload(sides.engines, warm, 'engines warm-up');

  const embeddedMbps: number[] = [];
  const enginesMbps: number[] = [];
  const cpuUsed = countCpu(cpu);
  for (let round = 0; round < spec.rounds; round += 1) {
    // Fresh random samples every round: the same bytes for both, never seen by either.
    const samples = makeSamples(spec.count, spec.size);
    const order = [
      async () => embeddedMbps.push(await upload(sides.embedded, samples, `embedded round ${round + 1}`)),
      async () => enginesMbps.push(await upload(sides.engines, samples, `engines round ${round + 1}`)),
    ];
    // Alternate which side goes first, so drift (page cache, disk, neighbours) hits both alike.
    for (let i = 0; i < order.length; i += 1) await order[(round + i) % order.length]!();
    for (const [name, side] of Object.entries(sides) as [string, Side][]) {
      if (!side.server.running) throw new Error(`the ${name} server exited:\n${side.server.output}`);
    }
    log(
      `engines: ingest ${spec.label} × ${spec.count}, round ${round + 1}/${spec.rounds}: ` +
        `embedded ${fixed(embeddedMbps.at(-1)!)} MB/s, engines ${fixed(enginesMbps.at(-1)!)} MB/s`,
    );
  }
  const used = cpuUsed();
  const embedded = summarize(embeddedMbps);
  const onEngines = summarize(enginesMbps);
  return {
    cpu: used,
    spec,
    embedded,
    engines: onEngines,
    ratio: onEngines.median / embedded.median,
    pairedRatio: summarize(enginesMbps.map((e, i) => e / embeddedMbps[i]!)),
  };
}

/** All samples, CONCURRENCY at a time, spread over the side's installations; returns MB/s. */
async function uploadRound(side: Side, samples: readonly Buffer[], what: string): Promise<number> {
  const start = performance.now();
  await runPool(samples.length, CONCURRENCY, async (i) => {
    const sample = samples[i]!;
    const installation = side.installations[i % side.installations.length]!;
    const result = await side.client
      .send('POST', `/v1/samples?installation=${installation}&filename=bench-${i}.bin`, {
        headers: { 'content-type': 'application/octet-stream' },
        body: sample,
      })
      .catch((error: unknown) => ({ status: 0, body: String(error) }));
    checkUpload(result, sample.length, `${what}, sample ${i}`);
  });
  const seconds = (performance.now() - start) / 1000;
  return megabytesPerSecond(
    samples.reduce((sum, s) => sum + s.length, 0),
    seconds,
  );
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

/** CONCURRENCY installations in Germany (site zurich). */
async function registerDE(client: HttpClient): Promise<string[]> {
  return runPool(CONCURRENCY, 1, async () => {
    const result = await client.json('POST', '/v1/installations', { country: 'DE', product: 'bench' });
    if (result.status !== 201)
      throw new Error(`POST /v1/installations answered ${result.status}: ${result.body.slice(0, 500)}`);
    return (JSON.parse(result.body) as { id: string }).id;
  });
}

/** `count` distinct random samples of `size` bytes, so deduplication never short-circuits. */
function makeSamples(count: number, size: number): Buffer[] {
  return Array.from({ length: count }, () => randomBytes(size));
}

// ---------------------------------------------------------------------------------------------
// Events and the aggregate

async function runEvents(
  plan: Plan,
  started: Engines,
  client: HttpClient,
  reader: HttpClient,
  scratch: string,
  cpu: CpuSources,
): Promise<EventsResult> {
  const installations = await registerInstallations(client);
  const file = join(scratch, 'events.ndjson');
  log(`engines: generating ${plan.events.toLocaleString('en')} events`);
  const { batches, bytes } = await generateEvents(file, plan.events, installations);

  log('engines: events baseline (clickhouse-client INSERT … FORMAT JSONEachRow)');
  await createBaseline(started, installations);
  const baselineCpu = countCpu(cpu);
  const baselineSeconds = await loadWithClient(started, file);
  const cpuOfBaseline = baselineCpu();
  const [counted] = (await started.clickhouseQuery(BASELINE_DATABASE, 'SELECT count() FROM events')).split(
    '\n',
  );
  if (Number(counted) !== plan.events)
    throw new Error(`the baseline loaded ${counted} events of ${plan.events}`);

  log('engines: events over HTTP into ClickHouse');
  const httpCpu = countCpu(cpu);
  const start = performance.now();
  await postEvents(client, file, batches, plan.events, EVENT_CLIENTS);
  const ackSeconds = (performance.now() - start) / 1000;
  log(`engines: acknowledged in ${fixed(ackSeconds)} s; waiting until loaded`);
  await waitUntilCounted(reader, plan.events);
  const loadedSeconds = (performance.now() - start) / 1000;
  const cpuOfHttp = httpCpu();

  log('engines: aggregates');
  const sql = aggregateSql({ groupBy: ['day', 'country', 'threat'] });
  // ClickHouse's own client, as the site's store uses it, reading the rows into JS the same way.
  const direct = createClient({
    url: `http://127.0.0.1:${started.clickhouse.httpPort}`,
    database: BASELINE_DATABASE,
    username: started.env.CLICKHOUSE_USER!,
    password: started.env.CLICKHOUSE_PASSWORD!,
    compression: { request: false, response: false },
  });
  try {
    const aggregate = await compareAggregates(
      reader,
      async () => {
        const result = await direct.query({ query: sql, format: 'JSONCompact' });
        return (await result.json<unknown[]>()).data.length;
      },
      plan.aggregateRounds,
    );
    return {
      events: plan.events,
      fileBytes: bytes,
      baselineSeconds,
      ackSeconds,
      loadedSeconds,
      cpu: { baseline: cpuOfBaseline, http: cpuOfHttp },
      aggregate,
    };
  } finally {
    await direct.close();
  }
}

/**
 * The baseline's tables in their own database: `events` exactly as a site's store creates it,
 * the installations' countries as a `Join` table, and `incoming`, which the NDJSON is inserted
 * into: a `Null` table whose materialized view turns each row into a row of `events` as the
 * site does (`ts` split into seconds and milliseconds, the country looked up by installation).
 * `iso` is `ts` again under another name, for the view to read: the view's own `ts` would
 * shadow the column.
 */
async function createBaseline(started: Engines, installations: readonly Installation[]): Promise<void> {
  const query = (sql: string) => started.clickhouseQuery(BASELINE_DATABASE, sql);
  await started.clickhouse.query(`CREATE DATABASE ${BASELINE_DATABASE}`);
  await query(EVENTS_TABLE_DDL);
  await query('CREATE TABLE installations (id UUID, country String) ENGINE = Join(ANY, LEFT, id)');
  await query(
    `INSERT INTO installations VALUES ${installations.map((i) => `('${i.id}', '${i.country}')`).join(', ')}`,
  );
  const nullable = ['sha256', 'md5', 'verdict', 'threat', 'product', 'os'];
  await query(
    `CREATE TABLE incoming (ts String, installation UUID, type String, ${nullable.map((c) => `${c} Nullable(String)`).join(', ')}, iso String MATERIALIZED ts) ENGINE = Null`,
  );
  await query(
    `CREATE MATERIALIZED VIEW incoming_to_events TO events AS SELECT ` +
      `toDateTime(substring(iso, 1, 19), 'UTC') AS ts, toUInt16(substring(iso, 21, 3)) AS ts_ms, ` +
      `installation, type, joinGet('installations', 'country', installation) AS country, ` +
      `${nullable.join(', ')}, toUInt64(0) AS load_seq FROM incoming`,
  );
}

/** `clickhouse-client … --query "INSERT INTO bench.incoming FORMAT JSONEachRow" < file`; seconds. */
async function loadWithClient(started: Engines, file: string): Promise<number> {
  const { command, args } = started.clientCommand(BASELINE_DATABASE);
  const input = await open(file, 'r');
  try {
    const start = performance.now();
    const child = spawn(
      command,
      [
        ...args,
        // Blocks of 100,000 rows rather than 1,048,576: a block of a million rows passing
        // through the view needs more than the server's 2 GB a query (the site loads a second's
        // worth of events at a time).
        '--max_insert_block_size',
        '100000',
        '--query',
        `INSERT INTO ${BASELINE_DATABASE}.incoming FORMAT JSONEachRow`,
      ],
      { stdio: [input.fd, 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000);
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`clickhouse-client exited with ${code}:\n${stderr}`);
    return (performance.now() - start) / 1000;
  } finally {
    await input.close();
  }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting: where the time of each side goes, the machine's two cores being shared

type CpuSources = Readonly<Record<string, () => number | undefined>>;

/** Starts counting; the function returned gives each source's CPU seconds since. */
function countCpu(sources: CpuSources): () => CpuSeconds {
  const before = Object.fromEntries(Object.entries(sources).map(([name, read]) => [name, read()]));
  return () => {
    const used: Record<string, number> = {};
    for (const [name, read] of Object.entries(sources)) {
      const [start, now] = [before[name], read()];
      if (start !== undefined && now !== undefined) used[name] = Math.round((now - start) * 100) / 100;
    }
    return used;
  };
}

function cpuLine(cpu: CpuSeconds): string {
  return Object.entries(cpu)
    .filter(([, seconds]) => seconds >= 0.05)
    .map(([name, seconds]) => `${name} ${fixed(seconds)}`)
    .join(', ');
}

// ---------------------------------------------------------------------------------------------
// Report

function report(plan: Plan, m: Measured): void {
  const e = m.events;
  const baselineRate = e.events / e.baselineSeconds;
  const ackRate = e.events / e.ackSeconds;
  const loadedRate = e.events / e.loadedSeconds;
  const eventsRatio = loadedRate / baselineRate;
  const aggregateRatio = median(e.aggregate.apiMs) / median(e.aggregate.sqlMs);
  if (plan.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          benchmark: 'engines',
          node: process.version,
          cpus: cpus().length,
          versions: m.versions,
          concurrency: CONCURRENCY,
          ingest: m.phases,
          events: { ...e, rates: { baseline: baselineRate, acknowledged: ackRate, loaded: loadedRate } },
          goals: {
            events: { goal: EVENTS_GOAL, value: eventsRatio, pass: eventsRatio >= EVENTS_GOAL },
            aggregate: {
              goal: AGGREGATE_GOAL,
              value: aggregateRatio,
              pass: aggregateRatio <= AGGREGATE_GOAL,
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
  const out: string[] = [''];
  out.push(
    `Engines: glasshouse up on PostgreSQL ${m.versions.postgres} (metadata, fsync on), S3 (s3rver: blobs, tiles) ` +
      `and ClickHouse ${m.versions.clickhouse} (stats), all on this machine; node ${process.version}, ${cpus().length} CPUs; MB = 10^6 bytes.`,
  );
  out.push('');
  out.push(
    renderTable(
      [
        {
          header: `ingest, ${CONCURRENCY} concurrent, medians (min–max) of ${plan.phases[0]?.rounds ?? 0} rounds`,
        },
        { header: 'embedded MB/s', align: 'right' },
        { header: 'engines MB/s', align: 'right' },
        { header: 'engines / embedded [per round]' },
      ],
      m.phases.map((phase) => [
        `POST /v1/samples, ${phase.spec.label} × ${phase.spec.count}`,
        withRange(phase.embedded),
        withRange(phase.engines),
        `${fixed(phase.ratio, 2)}x [${fixed(phase.pairedRatio.min, 2)}–${fixed(phase.pairedRatio.max, 2)}x]`,
      ]),
    ),
  );
  for (const phase of m.phases)
    out.push(`  CPU seconds over the ${phase.spec.label} rounds: ${cpuLine(phase.cpu)}`);
  out.push('');
  out.push(
    `Events: ${e.events.toLocaleString('en')} (${fixed(e.fileBytes / 1e6, 0)} MB of NDJSON), batches of ` +
      `${BATCH.toLocaleString('en')} from ${EVENT_CLIENTS} clients, over 2 sites (one ClickHouse database each).`,
  );
  out.push('');
  out.push(
    renderTable(
      [
        { header: 'events into ClickHouse' },
        { header: 'seconds', align: 'right' },
        { header: 'events/s', align: 'right' },
        { header: 'vs baseline', align: 'right' },
      ],
      [
        [
          'baseline: clickhouse-client INSERT … FORMAT JSONEachRow',
          fixed(e.baselineSeconds),
          fixed(baselineRate, 0),
          '',
        ],
        [
          'HTTP, acknowledged (durable in the WAL)',
          fixed(e.ackSeconds),
          fixed(ackRate, 0),
          `${fixed(ackRate / baselineRate, 2)}x`,
        ],
        [
          'HTTP, loaded (queryable)',
          fixed(e.loadedSeconds),
          fixed(loadedRate, 0),
          `${fixed(eventsRatio, 2)}x`,
        ],
      ],
    ),
  );
  out.push(`  CPU seconds, baseline: ${cpuLine(e.cpu.baseline)}`);
  out.push(`  CPU seconds, HTTP until loaded: ${cpuLine(e.cpu.http)}`);
  out.push('');
  out.push(
    renderTable(
      [
        { header: `day × country × threat (${e.aggregate.groups.toLocaleString('en')} groups)` },
        { header: 'ms median', align: 'right' },
        { header: 'min–max', align: 'right' },
      ],
      [
        [
          'the same SQL in ClickHouse (@clickhouse/client, rows read into JS)',
          fixed(median(e.aggregate.sqlMs), 0),
          range(e.aggregate.sqlMs),
        ],
        [
          'GET /v1/stats/detections (2 sites, merged, suppressed, JSON)',
          fixed(median(e.aggregate.apiMs), 0),
          range(e.aggregate.apiMs),
        ],
      ],
    ),
  );
  out.push('');
  out.push('Goals:');
  out.push(
    `  events into ClickHouse (loaded) >= 0.5x ClickHouse loading the NDJSON itself: ${fixed(eventsRatio, 2)}x  ${passFail(eventsRatio >= EVENTS_GOAL)}`,
  );
  out.push(
    `  detections aggregate through the API <= 1.5x the same SQL in ClickHouse: ${fixed(aggregateRatio, 2)}x  ${passFail(aggregateRatio <= AGGREGATE_GOAL)}`,
  );
  for (const phase of m.phases) {
    out.push(`  ingest ${phase.spec.label} on engines vs embedded (no goal): ${fixed(phase.ratio, 2)}x`);
  }
  out.push(
    `  every upload answered 200/201: ${failures.length === 0 ? 'PASS' : `FAIL (${failures.length} failed)`}`,
  );
  for (const failure of failures.slice(0, 10))
    out.push(`    ${failure.what}: ${failure.status} ${failure.detail}`);
  if (failures.length > 10) out.push(`    … and ${failures.length - 10} more`);
  process.stdout.write(`${out.join('\n')}\n`);
}

function range(values: readonly number[]): string {
  return `${fixed(Math.min(...values), 0)}–${fixed(Math.max(...values), 0)}`;
}
