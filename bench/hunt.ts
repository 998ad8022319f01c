/**
 * Hunt benchmark: a `glasshouse up` child process holds >= 2 GiB of samples of mixed sizes
 * (64 KiB to 32 MiB); an analyst's hunt with 100 YARA rules (text, hex and regular-expression
 * patterns; a few match) is timed from `POST /v1/hunts` until it is `active` (every stored
 * sample decrypted on the blob-file workers and matched with YARA-X). The baseline, in the
 * same run and interleaved: Debian's `yara -r` with the same rules over the same samples
 * decrypted on disk (warm in the page cache), with as many threads as the machine has cores.
 *
 * Goal (from the issue): the hunt at >= 0.5x `yara -r`'s MB/s.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import type { Benchmark } from './support/benchmark.js';
import { runCleanups, tempDir } from './support/cleanup.js';
import { HttpClient } from './support/http.js';
import { runPool } from './support/pool.js';
import { createToken, initDataDir, ServerProcess } from './support/server.js';
import { KiB, MiB, megabytesPerSecond, summarize } from './support/stats.js';
import { fixed, passFail, renderTable, withRange } from './support/table.js';

const run = promisify(execFile);
const GiB = 1024 * MiB;
const SIZES = [64 * KiB, 256 * KiB, MiB, 4 * MiB, 16 * MiB, 32 * MiB] as const;
const RULES = 100;
const UPLOAD_CONCURRENCY = 4;
const RATIO_GOAL = 0.5;
const log = (line: string) => process.stderr.write(`${line}\n`);

const hunt: Benchmark = {
  name: 'hunt',
  summary:
    'a YARA hunt with 100 rules over 2 GiB of samples (decrypted on the workers) vs yara -r on plain files',
  options: [
    '--quick         256 MiB instead of 2 GiB (a smoke run)',
    '--rounds N      hunts and yara -r runs, interleaved (default 3)',
    '--json          print the results as JSON on stdout',
    '--cpu-prof DIR  run the server under `node --cpu-prof` (its worker threads too) and write the profiles to DIR',
  ],
  async run(args) {
    const { values } = parseArgs({
      args: [...args],
      options: {
        quick: { type: 'boolean', default: false },
        rounds: { type: 'string' },
        json: { type: 'boolean', default: false },
        'cpu-prof': { type: 'string' },
      },
      strict: true,
    });
    try {
      return await measure(
        values.quick === true ? 256 * MiB : 2 * GiB,
        values.rounds === undefined ? 3 : Number(values.rounds),
        values.json === true,
        values['cpu-prof'],
      );
    } finally {
      await runCleanups();
    }
  },
};
export default hunt;

async function measure(
  total: number,
  rounds: number,
  json: boolean,
  cpuProfDir: string | undefined,
): Promise<number> {
  const dir = tempDir('glasshouse-bench-hunt');
  const dataDir = join(dir.path, 'data');
  const plainDir = join(dir.path, 'plain');
  mkdirSync(plainDir);
  await initDataDir(dataDir);
  const product = await createToken(dataDir, 'product');
  const analyst = await createToken(dataDir, 'analyst');
  const server = await ServerProcess.start({
    dataDir,
    ...(cpuProfDir === undefined ? {} : { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] }),
  });
  const asProduct = new HttpClient({ baseUrl: server.baseUrl, token: product.token });
  const asAnalyst = new HttpClient({ baseUrl: server.baseUrl, token: analyst.token });
  const stored = await fill(asProduct, plainDir, total);
  log(
    `stored ${fixed(stored.bytes / MiB, 0)} MiB in ${stored.samples} samples (and the same in plain files)`,
  );
  const rules = ruleSet();
  const rulesFile = join(dir.path, 'rules.yar');
  writeFileSync(rulesFile, rules);
  // Untimed: reads the plain files into the page cache, yara -r at its best.
  await yaraRecursive(rulesFile, plainDir);

  const results: { hunt: number; yara: number; matches: number; yaraMatches: number }[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const h = await timedHunt(asAnalyst, rules);
    const y = await timed(() => yaraRecursive(rulesFile, plainDir));
    results.push({
      hunt: megabytesPerSecond(stored.bytes, h.seconds),
      yara: megabytesPerSecond(stored.bytes, y.seconds),
      matches: h.matches,
      yaraMatches: y.value,
    });
    log(
      `round ${round + 1}: hunt ${fixed(results.at(-1)!.hunt)} MB/s (${h.matches} samples matched), ` +
        `yara -r ${fixed(results.at(-1)!.yara)} MB/s (${y.value} samples matched)`,
    );
  }
  await server.stop();
  const huntRate = summarize(results.map((r) => r.hunt));
  const yaraRate = summarize(results.map((r) => r.yara));
  const ratio = huntRate.median / yaraRate.median;
  const pass = ratio >= RATIO_GOAL;
  if (json) {
    process.stdout.write(`${JSON.stringify({ total: stored.bytes, rules: RULES, results, ratio, pass })}\n`);
  } else {
    process.stdout.write(
      `${renderTable(
        [{ header: 'measure' }, { header: 'MB/s (median, range)', align: 'right' }],
        [
          [`hunt, ${RULES} rules, decrypting (${stored.samples} samples)`, withRange(huntRate)],
          [`yara -r -p ${availableParallelism()}, plain files in the page cache`, withRange(yaraRate)],
          [`ratio (goal >= ${RATIO_GOAL})`, `${fixed(ratio, 2)} ${passFail(pass)}`],
        ],
      )}\n`,
    );
  }
  return pass ? 0 : 1;
}

/** Starts a hunt and waits for it to be through the stored samples. */
async function timedHunt(client: HttpClient, rules: string): Promise<{ seconds: number; matches: number }> {
  const started = process.hrtime.bigint();
  const created = await client.json('POST', '/v1/hunts', { rules });
  if (created.status !== 202) throw new Error(`hunt ${created.status}: ${created.body}`);
  const { id } = JSON.parse(created.body) as { id: string };
  for (;;) {
    const status = JSON.parse((await client.json('GET', `/v1/hunts/${id}`)).body) as {
      state: string;
      progress: { matches: number };
    };
    if (status.state === 'active') {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      await client.json('POST', `/v1/hunts/${id}/stop`);
      return { seconds, matches: status.progress.matches };
    }
    if (status.state !== 'scanning') throw new Error(`hunt ${id} is ${status.state}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** `yara -r` over the directory; the number of files it names. */
async function yaraRecursive(rulesFile: string, plainDir: string): Promise<number> {
  const { stdout } = await run('yara', ['-r', '-p', String(availableParallelism()), rulesFile, plainDir], {
    maxBuffer: 64 * MiB,
  });
  return new Set(
    stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(line.indexOf(' ') + 1)),
  ).size;
}

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await work();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, value };
}

/**
 * 100 rules of the kinds analysts write: text strings (some `nocase`, some `wide`), hex
 * strings with wildcards and jumps, a regular expression, conditions on the header. Every
 * tenth matches the markers `fill` plants in some samples.
 */
function ruleSet(): string {
  const rules: string[] = [];
  for (let i = 0; i < RULES; i += 1) {
    const marker = i % 10 === 0 ? `HUNT-MARKER-${i}` : `never-seen-${i}-${(i * 7919).toString(16)}`;
    const hex = Buffer.from(`q${i}z`).toString('hex').match(/../g)!.join(' ');
    rules.push(`rule bench_${i}
{
  strings:
    $text = "${marker}"
    $nocase = "kernel32-${i}.dll" nocase
    $wide = "Software\\\\Bench\\\\${i}" wide
    $hex = { ${hex} [2-4] 4D 5A ?? 90 }
    $re = /bench-re-${i}-[a-f0-9]{8}\\.exe/
  condition:
    $text or ($nocase and $wide) or ($hex and uint16(0) == 0x5A4D) or $re
}`);
  }
  return `${rules.join('\n\n')}\n`;
}

async function fill(client: HttpClient, plainDir: string, total: number) {
  const installations: string[] = [];
  for (let i = 0; i < 16; i += 1) {
    const r = await client.json('POST', '/v1/installations', { country: 'BR', product: 'bench' });
    installations.push((JSON.parse(r.body) as { id: string }).id);
  }
  const sizes: number[] = [];
  for (let sum = 0, i = 0; sum < total; i += 1) {
    const size = SIZES[i % SIZES.length]!;
    sizes.push(size);
    sum += size;
  }
  // Random bytes are expensive to make: one pool, each sample a unique prefix over a slice of it.
  const pool = Buffer.alloc(32 * MiB);
  for (let i = 0; i < pool.length; i += 4) pool.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
  await runPool(sizes.length, UPLOAD_CONCURRENCY, async (i) => {
    const size = sizes[i]!;
    const marker = i % 7 === 0 ? `HUNT-MARKER-${(i % 10) * 10}` : '';
    const body = Buffer.concat([
      Buffer.from(`sample-${i}-${Date.now()}-${marker}-`),
      pool.subarray(0, size),
    ]).subarray(0, size);
    const r = await client.send(
      'POST',
      `/v1/samples?installation=${installations[i % 16]}&filename=s${i}.bin`,
      {
        headers: { 'content-type': 'application/octet-stream' },
        body,
      },
    );
    if (r.status !== 201 && r.status !== 200) throw new Error(`upload ${r.status}: ${r.body}`);
    writeFileSync(join(plainDir, (JSON.parse(r.body) as { sha256: string }).sha256), body);
  });
  return { samples: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0) };
}
