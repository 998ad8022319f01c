/**
 * Telemetry benchmark: `POST /v1/events` (NDJSON batches of 10,000 from 4 concurrent clients)
 * against a `glasshouse up` child process, beside a baseline measured in the same run on the
 * same file: DuckDB itself loading the NDJSON (`read_json`) into the same table shape, with
 * the same settings, joined with the installations' countries as the server does from its
 * registry. Then a day × country × threat aggregate through the API, beside the same SQL run
 * directly in DuckDB on the baseline's table.
 *
 * Goals (from the issues): ingest at >= 50% of the baseline; the API aggregate within 1.5× of
 * direct SQL in every round (each round times the API, then the SQL).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { parseDocument } from 'yaml';
import { EVENTS_TABLE_DDL, GROUP_KEY_SQL } from '../src/adapters/storage/duckdb/duckdb-stats-store.js';
import type { Benchmark } from './support/benchmark.js';
import { runCleanups, tempDir } from './support/cleanup.js';
import { HttpClient } from './support/http.js';
import { createToken, initDataDir, ServerProcess } from './support/server.js';
import { median } from './support/stats.js';
import { fixed, mebibytes, passFail, renderTable } from './support/table.js';
import {
  BATCH,
  COUNTRIES,
  compareAggregates,
  generateEvents,
  type Installation,
  PER_COUNTRY,
  postEvents,
  registerInstallations,
  waitUntilCounted,
} from './support/telemetry.js';

const CLIENTS = 4;
const INGEST_GOAL = 0.5;
const AGGREGATE_GOAL = 1.5;
const MEMORY_LIMIT_MB = 512;

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Plan {
  readonly events: number;
  readonly aggregateRounds: number;
  readonly json: boolean;
  readonly cpuProfDir: string | undefined;
}

interface Results {
  readonly events: number;
  readonly fileBytes: number;
  readonly baselineSeconds: number;
  readonly ackSeconds: number;
  readonly loadedSeconds: number;
  readonly serverPeakRss: { readonly hwm: number | undefined; readonly sampledMax: number };
  readonly hwmIsPhasePeak: boolean;
  readonly aggregate: { readonly apiMs: number[]; readonly sqlMs: number[]; readonly groups: number };
}

function planFrom(args: readonly string[]): Plan {
  const { values } = parseArgs({
    args: [...args],
    options: {
      quick: { type: 'boolean', default: false },
      events: { type: 'string' },
      json: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const events =
    values.events === undefined ? (values.quick === true ? 1_000_000 : 10_000_000) : Number(values.events);
  if (!Number.isInteger(events) || events < BATCH) throw new Error(`--events expects an integer >= ${BATCH}`);
  return { events, aggregateRounds: 5, json: values.json === true, cpuProfDir: values['cpu-prof'] };
}

const events: Benchmark = {
  name: 'events',
  summary:
    'telemetry ingest over HTTP (NDJSON, 4 clients) and a day×country×threat aggregate vs DuckDB directly',
  options: [
    '--quick         1,000,000 events instead of 10,000,000',
    '--events N      how many events',
    '--json          print the results as JSON on stdout instead of tables',
    '--cpu-prof DIR  run the server under `node --cpu-prof` and write its profile to DIR',
  ],
  async run(args) {
    const plan = planFrom(args);
    try {
      report(plan, await measure(plan));
    } finally {
      await runCleanups();
    }
    return 0;
  },
};
export default events;

async function measure(plan: Plan): Promise<Results> {
  const scratch = tempDir('glasshouse-bench-events');
  const dataDir = join(scratch.path, 'data');
  log(`events: data dir ${dataDir}`);
  await initDataDir(dataDir);
  configure(join(dataDir, 'config.yaml'));
  const [product, analyst] = [await createToken(dataDir, 'product'), await createToken(dataDir, 'analyst')];
  const server = await ServerProcess.start({
    dataDir,
    ...(plan.cpuProfDir === undefined ? {} : { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', plan.cpuProfDir] }),
  });
  const client = new HttpClient({ baseUrl: server.baseUrl, token: product.token, maxSockets: CLIENTS });
  const reader = new HttpClient({ baseUrl: server.baseUrl, token: analyst.token, maxSockets: 1 });
  try {
    const installations = await registerInstallations(client);
    const file = join(scratch.path, 'events.ndjson');
    log(`events: generating ${plan.events.toLocaleString('en')} events`);
    const { batches, bytes } = await generateEvents(file, plan.events, installations);

    log('events: baseline (DuckDB read_json into the same table)');
    const baseline = await openBaseline(join(scratch.path, 'baseline.duckdb'), installations);
    const baselineSeconds = await baseline.load(file);

    log('events: HTTP ingest');
    const hwmIsPhasePeak = server.beginPhase();
    const start = performance.now();
    await postEvents(client, file, batches, plan.events, CLIENTS);
    const ackSeconds = (performance.now() - start) / 1000;
    log(`events: acknowledged in ${fixed(ackSeconds)} s; waiting until loaded`);
    await waitUntilCounted(reader, plan.events);
    const loadedSeconds = (performance.now() - start) / 1000;
    const serverPeakRss = server.endPhase();

    log('events: aggregates');
    const aggregate = await compareAggregates(reader, () => baseline.aggregate(), plan.aggregateRounds);
    baseline.close();
    return {
      events: plan.events,
      fileBytes: bytes,
      baselineSeconds,
      ackSeconds,
      loadedSeconds,
      serverPeakRss,
      hwmIsPhasePeak,
      aggregate,
    };
  } finally {
    client.close();
    reader.close();
    await server.stop();
    await scratch.remove();
  }
}

function configure(file: string): void {
  const document = parseDocument(readFileSync(file, 'utf8'));
  document.setIn(['stats', 'maxBatchLines'], BATCH);
  document.setIn(['stats', 'memoryLimitMb'], MEMORY_LIMIT_MB);
  writeFileSync(file, document.toString());
}

interface Baseline {
  load(file: string): Promise<number>;
  aggregate(): Promise<number>;
  close(): void;
}

/** DuckDB in this process with the server's table and settings; the registry as a table. */
async function openBaseline(path: string, installations: readonly Installation[]): Promise<Baseline> {
  const instance = await DuckDBInstance.create(path, {
    memory_limit: `${MEMORY_LIMIT_MB}MB`,
    preserve_insertion_order: 'false',
  });
  const db = await instance.connect();
  await db.run(EVENTS_TABLE_DDL);
  await db.run('CREATE TABLE installations (id UUID PRIMARY KEY, country VARCHAR NOT NULL)');
  const appender = await db.createAppender('installations');
  for (const installation of installations) {
    appender.appendVarchar(installation.id);
    appender.appendVarchar(installation.country);
    appender.endRow();
  }
  appender.closeSync();
  return {
    async load(file) {
      const start = performance.now();
      await db.run(
        `INSERT INTO events SELECT j.ts, j.installation, j.type, i.country, j.sha256, j.md5, j.verdict, j.threat, j.product, j.os
         FROM read_json('${file.replaceAll("'", "''")}', format='newline_delimited',
           columns={ts:'TIMESTAMP', installation:'UUID', type:'VARCHAR', sha256:'VARCHAR', md5:'VARCHAR',
                    verdict:'VARCHAR', threat:'VARCHAR', product:'VARCHAR', os:'VARCHAR'}) j
         JOIN installations i ON i.id = j.installation`,
      );
      return (performance.now() - start) / 1000;
    },
    async aggregate() {
      const keys = [GROUP_KEY_SQL.day, GROUP_KEY_SQL.country, GROUP_KEY_SQL.threat];
      const reader = await db.runAndReadAll(
        `SELECT ${keys.map((k, i) => `${k} AS k${i}`).join(', ')}, count(*) AS events, count(DISTINCT installation) AS installations FROM events GROUP BY k0, k1, k2`,
      );
      return reader.getRows().length;
    },
    close() {
      db.closeSync();
      instance.closeSync();
    },
  };
}

function report(plan: Plan, r: Results): void {
  const baselineRate = r.events / r.baselineSeconds;
  const ackRate = r.events / r.ackSeconds;
  const loadedRate = r.events / r.loadedSeconds;
  const ingestRatio = loadedRate / baselineRate;
  const aggregateRatio = median(r.aggregate.apiMs) / median(r.aggregate.sqlMs);
  // Each round's API time over the direct SQL's of the same round: the goal holds in every one.
  const roundRatios = r.aggregate.apiMs.map((ms, i) => ms / r.aggregate.sqlMs[i]!);
  const worstRound = Math.max(...roundRatios);
  if (plan.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          benchmark: 'events',
          node: process.version,
          cpus: cpus().length,
          ...r,
          rates: { baseline: baselineRate, acknowledged: ackRate, loaded: loadedRate },
          goals: {
            ingest: { goal: INGEST_GOAL, value: ingestRatio, pass: ingestRatio >= INGEST_GOAL },
            aggregate: {
              goal: AGGREGATE_GOAL,
              value: aggregateRatio,
              rounds: roundRatios,
              pass: worstRound <= AGGREGATE_GOAL,
            },
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
    `Telemetry: ${r.events.toLocaleString('en')} events (${fixed(r.fileBytes / 1e6, 0)} MB of NDJSON), ` +
      `batches of ${BATCH.toLocaleString('en')}, ${CLIENTS} clients; ${COUNTRIES.length * PER_COUNTRY} installations ` +
      `in ${COUNTRIES.length} countries over 2 sites; node ${process.version}, ${cpus().length} CPUs.`,
  );
  out.push('');
  out.push(
    renderTable(
      [
        { header: 'ingest' },
        { header: 'seconds', align: 'right' },
        { header: 'events/s', align: 'right' },
        { header: 'vs baseline', align: 'right' },
        { header: 'server peak RSS (VmHWM / VmRSS@100ms)' },
      ],
      [
        [
          'baseline: DuckDB read_json → table',
          fixed(r.baselineSeconds),
          fixed(baselineRate, 0),
          '',
          '(in-process)',
        ],
        [
          'HTTP, acknowledged (durable in WAL)',
          fixed(r.ackSeconds),
          fixed(ackRate, 0),
          `${fixed((ackRate / baselineRate) * 100, 0)}%`,
          '',
        ],
        [
          'HTTP, loaded (queryable)',
          fixed(r.loadedSeconds),
          fixed(loadedRate, 0),
          `${fixed(ingestRatio * 100, 0)}%`,
          `${mebibytes(r.serverPeakRss.hwm)}${r.hwmIsPhasePeak ? '' : ' (lifetime)'} / ${mebibytes(r.serverPeakRss.sampledMax)}`,
        ],
      ],
    ),
  );
  out.push('');
  out.push(
    renderTable(
      [
        { header: `day × country × threat (${r.aggregate.groups.toLocaleString('en')} groups)` },
        { header: 'ms median', align: 'right' },
        { header: 'min–max', align: 'right' },
      ],
      [
        [
          'direct SQL in DuckDB (rows read into JS)',
          fixed(median(r.aggregate.sqlMs), 0),
          range(r.aggregate.sqlMs),
        ],
        [
          'GET /v1/stats/detections (2 sites, merged, suppressed, JSON)',
          fixed(median(r.aggregate.apiMs), 0),
          range(r.aggregate.apiMs),
        ],
      ],
    ),
  );
  out.push('');
  out.push('Goals:');
  out.push(
    `  ingest (loaded) >= 50% of baseline: ${fixed(ingestRatio * 100, 0)}%  ${passFail(ingestRatio >= INGEST_GOAL)}`,
  );
  out.push(
    `  API aggregate <= 1.5x direct SQL in every round: median ${fixed(aggregateRatio, 2)}x, ` +
      `rounds ${roundRatios.map((ratio) => fixed(ratio, 2)).join(', ')}x  ${passFail(worstRound <= AGGREGATE_GOAL)}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

function range(values: readonly number[]): string {
  return `${fixed(Math.min(...values), 0)}–${fixed(Math.max(...values), 0)}`;
}
