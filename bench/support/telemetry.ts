/**
 * The telemetry of the `events` and `engines` benchmarks: installations in 20 countries over
 * both example sites, and an NDJSON file of events for them, the same shape a product sends.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { HttpClient } from './http.js';
import { runPool } from './pool.js';

/** Lines per `POST /v1/events`. */
export const BATCH = 10_000;
/** Zurich's countries under the example policy, then Moscow's (the default site). */
export const COUNTRIES = [
  'DE',
  'FR',
  'IT',
  'ES',
  'GB',
  'US',
  'CA',
  'BR',
  'MX',
  'JP',
  'RU',
  'BY',
  'KZ',
  'UZ',
  'AM',
  'AZ',
  'KG',
  'TJ',
  'MN',
  'CN',
];
export const PER_COUNTRY = 10;
const DAYS = 30;
const THREATS = 200;
const TYPES = ['detection', 'detection', 'detection', 'scan', 'lookup', 'update'];
const VERDICTS = ['malicious', 'suspicious', 'pua', 'clean'];

export interface Installation {
  readonly id: string;
  readonly country: string;
}

/** PER_COUNTRY new installations in each of COUNTRIES. */
export async function registerInstallations(client: HttpClient): Promise<Installation[]> {
  const wanted = COUNTRIES.flatMap((country) => Array.from({ length: PER_COUNTRY }, () => country));
  return runPool(wanted.length, 8, async (i) => {
    const result = await client.json('POST', '/v1/installations', { country: wanted[i], product: 'bench' });
    if (result.status !== 201) throw new Error(`POST /v1/installations: ${result.status} ${result.body}`);
    return { id: (JSON.parse(result.body) as { id: string }).id, country: wanted[i]! };
  });
}

/**
 * Writes `count` events over the last DAYS days as NDJSON; returns the byte range of each
 * batch of BATCH lines.
 */
export async function generateEvents(
  file: string,
  count: number,
  installations: readonly Installation[],
): Promise<{ batches: [number, number][]; bytes: number }> {
  const now = Date.now();
  const hashes = Array.from({ length: 4096 }, (_, i) =>
    createHash('sha256').update(`bench-${i}`).digest('hex'),
  );
  const md5s = hashes.map((h) => h.slice(0, 32));
  const threats = Array.from({ length: THREATS }, (_, i) => `Trojan.Win32.Bench${i}`);
  const handle = await open(file, 'w');
  const batches: [number, number][] = [];
  let offset = 0;
  const random = (n: number) => Math.floor(Math.random() * n);
  try {
    for (let b = 0; b * BATCH < count; b += 1) {
      const lines: string[] = [];
      for (let i = 0; i < BATCH && b * BATCH + i < count; i += 1) {
        const h = random(hashes.length);
        lines.push(
          JSON.stringify({
            ts: new Date(now - 3_600_000 - random(DAYS * 86_400) * 1000).toISOString(),
            installation: installations[random(installations.length)]!.id,
            type: TYPES[random(TYPES.length)],
            sha256: hashes[h],
            md5: md5s[h],
            verdict: VERDICTS[random(VERDICTS.length)],
            threat: threats[random(THREATS)],
            product: 'endpoint-12',
            os: 'windows-11',
          }),
        );
      }
      const chunk = Buffer.from(`${lines.join('\n')}\n`);
      await handle.write(chunk);
      batches.push([offset, offset + chunk.length]);
      offset += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return { batches, bytes: offset };
}

/** Posts every batch of `file` (of `count` events), `clients` at a time; throws unless each is accepted whole. */
export async function postEvents(
  client: HttpClient,
  file: string,
  batches: readonly (readonly [number, number])[],
  count: number,
  clients: number,
): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await runPool(batches.length, clients, async (i) => {
      const [from, to] = batches[i]!;
      const body = Buffer.allocUnsafe(to - from);
      await handle.read(body, 0, body.length, from);
      const result = await client.send('POST', '/v1/events', {
        headers: { 'content-type': 'application/x-ndjson' },
        body,
      });
      const answer = result.status === 200 ? (JSON.parse(result.body) as { accepted: number }) : undefined;
      if (answer?.accepted !== Math.min(BATCH, count - i * BATCH))
        throw new Error(`batch ${i}: ${result.status} ${result.body.slice(0, 300)}`);
    });
  } finally {
    await handle.close();
  }
}

/** Resolves once the stats API counts `expected` events (they were loaded into the stores). */
export async function waitUntilCounted(reader: HttpClient, expected: number): Promise<void> {
  for (;;) {
    const result = await reader.send('GET', '/v1/stats/detections?groupBy=type');
    const rows = (JSON.parse(result.body) as { rows?: { events: number }[] }).rows ?? [];
    const total = rows.reduce((sum, row) => sum + row.events, 0);
    if (total >= expected) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The detections aggregate of both benchmarks, through the API. */
export const DETECTIONS_PATH = '/v1/stats/detections?groupBy=day,country,threat&limit=10000';

/**
 * Alternating rounds of the API aggregate and the direct SQL, after one warm-up of each;
 * `direct` resolves to the number of groups it read.
 */
export async function compareAggregates(
  reader: HttpClient,
  direct: () => Promise<number>,
  rounds: number,
): Promise<{ apiMs: number[]; sqlMs: number[]; groups: number }> {
  const api = async () => {
    const start = performance.now();
    const result = await reader.send('GET', DETECTIONS_PATH);
    if (result.status !== 200)
      throw new Error(`${DETECTIONS_PATH}: ${result.status} ${result.body.slice(0, 300)}`);
    JSON.parse(result.body);
    return performance.now() - start;
  };
  let groups = 0;
  const sql = async () => {
    const start = performance.now();
    groups = await direct();
    return performance.now() - start;
  };
  await api();
  await sql();
  const apiMs: number[] = [];
  const sqlMs: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    apiMs.push(await api());
    sqlMs.push(await sql());
  }
  return { apiMs, sqlMs, groups };
}
