/**
 * Transparency-log benchmark: appends of ~200-byte entries by 16 concurrent writers through the
 * production path (`TransparencyLog` with group commit, `SqliteLogJournal` with WAL and
 * `synchronous=FULL`, tiles and a signed checkpoint published every second by `FsTileStore`),
 * then inclusion proofs, beside a baseline measured in the same run on the same entries: the
 * SHA-256 leaf hashes and the n - 1 interior hashes of RFC 6962 in one tight loop (the hashing
 * limit).
 *
 * Goal (from the issue): appends at >= 40% of the hashing limit.
 *
 * Writers: each of the 16 keeps a window of appends in flight (`--window`, default 256), like a
 * server with many requests per connection pool; the strict variant (window 1: every writer
 * awaits each append before the next) is measured too, on fewer entries, since its batches hold
 * at most 16 entries and it measures commit (fsync) latency rather than throughput.
 */
import * as crypto from 'node:crypto';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FsTileStore } from '../src/adapters/storage/fs/fs-tile-store.js';
import { SqliteLogJournal } from '../src/adapters/storage/sqlite/sqlite-log-journal.js';
import { Frontier } from '../src/ledger/frontier.js';
import { type Hash, hashChildren, hashLeaf, verifyInclusion } from '../src/ledger/merkle/index.js';
import { noteSignerFromKey, parseCheckpoint } from '../src/ledger/note/index.js';
import { TransparencyLog } from '../src/ledger/transparency-log.js';
import type { LogJournal, RecordHashReader } from '../src/ports/storage.js';
import {
  ADDED_MS_GOAL,
  PUBLICATION_RATE,
  type PublicationRound,
  publicationRound,
  WITNESSES,
} from './log-publication.js';
import type { Benchmark } from './support/benchmark.js';
import { runCleanups, tempDir } from './support/cleanup.js';
import { runPool } from './support/pool.js';
import { readProcMemory, resetPeakRss } from './support/proc.js';
import { median, percentile, type Summary, summarize } from './support/stats.js';
import { fixed, mebibytes, passFail, renderTable, withRange } from './support/table.js';

const WRITERS = 16;
const RATIO_GOAL = 0.4;
const ENTRY_SIZE = 200;
const ORIGIN = 'glasshouse-bench/log';
/** Without an explicit --rounds, no further append round starts once one took longer than this. */
const ROUND_LIMIT_SECONDS = 30;

interface Plan {
  readonly count: number;
  readonly appendRounds: number;
  readonly baselineRounds: number;
  /** Whether --rounds was given: then every planned round runs, however long. */
  readonly roundsFixed: boolean;
  readonly window: number;
  readonly strictCount: number;
  readonly proofs: number;
  readonly json: boolean;
  readonly quick: boolean;
  /** Seconds of each checkpoint-publication round (with and without witnesses). */
  readonly publicationSeconds: number;
  readonly publicationRounds: number;
  /** Only the publication rounds (`--only publication`). */
  readonly onlyPublication: boolean;
}

interface BaselineResult {
  readonly seconds: number;
  readonly entriesPerSecond: number;
  readonly hashes: number;
}

interface BatchStats {
  readonly commits: number;
  readonly meanBatch: number;
  readonly maxBatch: number;
  /** Commits of a single entry (the first append after an idle sequencer commits alone). */
  readonly singleEntryCommits: number;
}

interface AppendResult {
  readonly count: number;
  readonly window: number;
  readonly seconds: number;
  readonly entriesPerSecond: number;
  readonly batches: BatchStats;
  /** Tree size of the published checkpoint when the last append resolved. */
  readonly publishedAtEnd: number;
  /** From the last append resolved until a checkpoint covering every entry was published. */
  readonly catchUpSeconds: number;
  readonly proofs: { readonly count: number; readonly p50Ms: number; readonly p99Ms: number } | undefined;
  /** Longest gap between runs of a 10 ms timer while appending (ms): timers and I/O waited that long. */
  readonly eventLoopMaxDelayMs: number;
  /** VmHWM during the round (the process's, entries included); `undefined` if it could not be reset. */
  readonly peakRss: number | undefined;
}

interface Results {
  readonly plan: Plan;
  readonly baseline: readonly BaselineResult[];
  readonly frontier: readonly BaselineResult[];
  /** Informative: the same hashes with one-shot `crypto.hash` (Node >= 20.12), when available. */
  readonly oneShot: readonly BaselineResult[];
  readonly appends: readonly AppendResult[];
  readonly strict: readonly AppendResult[];
  readonly stoppedEarly: boolean;
  readonly peakRss: number | undefined;
}

const progress = (line: string) => process.stderr.write(`${line}\n`);

function planFrom(args: readonly string[]): Plan {
  const { values } = parseArgs({
    args: [...args],
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      window: { type: 'string', default: '256' },
      rounds: { type: 'string' },
      count: { type: 'string' },
      'strict-count': { type: 'string' },
      proofs: { type: 'string', default: '2000' },
      'publication-seconds': { type: 'string' },
      only: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const quick = values.quick === true;
  const positive = (name: string, text: string | undefined, fallback: number) => {
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} expects a positive integer`);
    return value;
  };
  const appendRounds = positive('rounds', values.rounds, quick ? 1 : 3);
  return {
    count: positive('count', values.count, quick ? 100_000 : 1_000_000),
    appendRounds,
    baselineRounds: Math.max(3, appendRounds),
    roundsFixed: values.rounds !== undefined,
    window: positive('window', values.window, 256),
    strictCount: positive('strict-count', values['strict-count'], quick ? 5_000 : 20_000),
    proofs: positive('proofs', values.proofs, 2000),
    json: values.json === true,
    quick,
    publicationSeconds: positive('publication-seconds', values['publication-seconds'], quick ? 5 : 15),
    publicationRounds: appendRounds,
    onlyPublication: onlyPublication(values.only),
  };
}

const logBenchmark: Benchmark = {
  name: 'log',
  summary: 'transparency-log appends (16 writers, ~200 B entries) and inclusion proofs vs SHA-256 limit',
  options: [
    '--quick           100,000 entries, 1 append round (a smoke run)',
    '--window N        appends in flight per writer (default 256; the strict window-1 run is extra)',
    '--rounds N        append rounds of the full count (default 3, fewer if one takes > 30 s)',
    '--count N         entries per append round (default 1,000,000)',
    '--strict-count N  entries of the strict window-1 run (default 20,000, or 5,000 with --quick)',
    '--proofs N        inclusion proofs timed per round (default 2000)',
    '--json            print the results as JSON on stdout instead of tables',
    '--publication-seconds N  seconds of each checkpoint-publication round at 10,000 appends/s (default 15)',
    '--only publication       only the checkpoint publication rounds (no witnesses vs 3 witnesses)',
  ],
  async run(args) {
    const plan = planFrom(args);
    try {
      const results = plan.onlyPublication ? undefined : await measure(plan);
      const publication = await measurePublication(plan);
      // With --json, one document on stdout: the publication rounds under `publication`.
      if (results !== undefined) report(results, plan.json ? publicationJson(publication) : undefined);
      if (results === undefined || !plan.json) reportPublication(publication, plan.json);
    } finally {
      await runCleanups();
    }
    return 0;
  },
};
export default logBenchmark;

function onlyPublication(text: string | undefined): boolean {
  if (text === undefined) return false;
  if (text !== 'publication') throw new Error('--only expects "publication"');
  return true;
}

// ---------------------------------------------------------------------------------------------
// Rounds

async function measure(plan: Plan): Promise<Results> {
  progress(`log: generating ${plan.count.toLocaleString('en')} entries of ${ENTRY_SIZE} bytes`);
  const entries = makeEntries(plan.count);
  const strictEntries = entries.slice(0, Math.min(plan.strictCount, entries.length));
  if (strictEntries.length < plan.strictCount) strictEntries.push(...makeEntries(plan.strictCount, 'strict'));

  // Warm-up: JIT, SQLite, the file system; not reported.
  hashingLimit(entries.slice(0, 20_000));
  await appendRound(entries.slice(0, 20_000), plan.window, 0);

  const baseline: BaselineResult[] = [];
  const frontier: BaselineResult[] = [];
  const oneShot: BaselineResult[] = [];
  const appends: AppendResult[] = [];
  const strict: AppendResult[] = [];
  let stoppedEarly = false;
  const rounds = Math.max(plan.baselineRounds, plan.appendRounds);
  for (let round = 0; round < rounds; round += 1) {
    const runAppends = appends.length < plan.appendRounds && !stoppedEarly;
    const hashing = () => {
      if (round >= plan.baselineRounds) return;
      baseline.push(hashingLimit(entries));
      frontier.push(frontierLoop(entries));
      const fast = oneShotLimit(entries);
      if (fast !== undefined) oneShot.push(fast);
      progress(
        `log: round ${round + 1}: hashing limit ${rate(baseline.at(-1)!)} entries/s, ` +
          `Frontier.append ${rate(frontier.at(-1)!)} entries/s` +
          (fast === undefined ? '' : `, one-shot crypto.hash ${rate(fast)} entries/s`),
      );
    };
    const appending = async () => {
      if (!runAppends) return;
      const result = await appendRound(entries, plan.window, plan.proofs);
      appends.push(result);
      progress(
        `log: round ${round + 1}: appends ${rate(result)} entries/s in ${fixed(result.seconds)} s ` +
          `(${result.batches.commits} commits), publication caught up in ${fixed(result.catchUpSeconds, 2)} s, ` +
          `proof p50 ${fixed(result.proofs?.p50Ms ?? Number.NaN, 3)} ms`,
      );
      strict.push(await appendRound(strictEntries, 1, 0));
      progress(`log: round ${round + 1}: strict (window 1) ${rate(strict.at(-1)!)} entries/s`);
      if (!plan.roundsFixed && result.seconds > ROUND_LIMIT_SECONDS && appends.length < plan.appendRounds) {
        stoppedEarly = true;
        progress(`log: an append round took > ${ROUND_LIMIT_SECONDS} s: no further append rounds`);
      }
    };
    // Alternate which side goes first, so drift (page cache, disk, thermal) hits both alike.
    if (round % 2 === 0) {
      hashing();
      await appending();
    } else {
      await appending();
      hashing();
    }
  }
  return {
    plan,
    baseline,
    frontier,
    oneShot,
    appends,
    strict,
    stoppedEarly,
    // VmHWM is reset before each append round: the process's peak is the largest of them all.
    peakRss:
      Math.max(readProcMemory(process.pid)?.hwm ?? 0, ...appends.map((r) => r.peakRss ?? 0)) || undefined,
  };
}

/**
 * The hashing limit: every leaf hash and the n - 1 interior hashes of RFC 6962, in one loop, in
 * the order the log computes them (a node as soon as its right subtree completes, then the
 * right edge folded into the root), with the same `hashLeaf` / `hashChildren`.
 */
function hashingLimit(entries: readonly Uint8Array[]): BaselineResult {
  const start = performance.now();
  const levels: (Hash | undefined)[] = [];
  let hashes = 0;
  for (const entry of entries) {
    let hash = hashLeaf(entry);
    hashes += 1;
    let level = 0;
    for (let left = levels[level]; left !== undefined; left = levels[level]) {
      hash = hashChildren(left, hash);
      hashes += 1;
      levels[level] = undefined;
      level += 1;
    }
    levels[level] = hash;
  }
  let root: Hash | undefined;
  for (const subtree of levels) {
    if (subtree === undefined) continue;
    if (root !== undefined) hashes += 1;
    root = root === undefined ? subtree : hashChildren(subtree, root);
  }
  const seconds = (performance.now() - start) / 1000;
  if (hashes !== 2 * entries.length - 1) throw new Error(`hashing limit computed ${hashes} hashes`);
  return { seconds, entriesPerSecond: entries.length / seconds, hashes };
}

type OneShot = (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer;

/**
 * Informative: the same 2n - 1 SHA-256 hashes with one-shot `crypto.hash` (Node >= 20.12) over
 * reused scratch buffers instead of a `createHash` object per hash, i.e. what SHA-256 itself
 * allows here; `undefined` where `crypto.hash` does not exist.
 */
function oneShotLimit(entries: readonly Uint8Array[]): BaselineResult | undefined {
  const sha256 = (crypto as { hash?: OneShot }).hash;
  if (typeof sha256 !== 'function') return undefined;
  const leafScratch = Buffer.alloc(0x10000 + 1); // 0x00 || entry (entries are at most 65535 bytes)
  const nodeScratch = Buffer.alloc(65, 1); // 0x01 || left || right
  const leaf = (entry: Uint8Array) => {
    leafScratch.set(entry, 1);
    return sha256('sha256', leafScratch.subarray(0, entry.length + 1), 'buffer');
  };
  const node = (left: Hash, right: Hash) => {
    nodeScratch.set(left, 1);
    nodeScratch.set(right, 33);
    return sha256('sha256', nodeScratch, 'buffer');
  };
  const start = performance.now();
  const levels: (Hash | undefined)[] = [];
  for (const entry of entries) {
    let hash = leaf(entry);
    let level = 0;
    for (let left = levels[level]; left !== undefined; left = levels[level]) {
      hash = node(left, hash);
      levels[level] = undefined;
      level += 1;
    }
    levels[level] = hash;
  }
  let root: Hash | undefined;
  for (const subtree of levels) {
    if (subtree !== undefined) root = root === undefined ? subtree : node(subtree, root);
  }
  const seconds = (performance.now() - start) / 1000;
  return { seconds, entriesPerSecond: entries.length / seconds, hashes: 2 * entries.length - 1 };
}

/** Informative: the log's own in-memory sequencing step (`Frontier.append`) on the same entries. */
function frontierLoop(entries: readonly Uint8Array[]): BaselineResult {
  const start = performance.now();
  const frontier = Frontier.empty();
  for (const entry of entries) frontier.append(entry);
  frontier.root();
  const seconds = (performance.now() - start) / 1000;
  return { seconds, entriesPerSecond: entries.length / seconds, hashes: 2 * entries.length - 1 };
}

/**
 * One fresh log in a temporary directory: WRITERS writers append their shares with up to
 * `window` appends each in flight; then the publication's catch-up and `proofs` inclusion
 * proofs at the final size (checked against the checkpoint's root).
 */
async function appendRound(
  entries: readonly Uint8Array[],
  window: number,
  proofs: number,
): Promise<AppendResult> {
  const scratch = tempDir('glasshouse-bench-log');
  const journal = new CountingJournal(new SqliteLogJournal(join(scratch.path, 'journal.db')));
  const hwmReset = resetPeakRss(process.pid);
  const log = await TransparencyLog.open({
    origin: ORIGIN,
    journal,
    tiles: new FsTileStore(join(scratch.path, 'public')),
    signer: noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, ORIGIN),
    checkpointIntervalMs: 1000,
    publish: true,
  });
  try {
    const per = Math.ceil(entries.length / WRITERS);
    const shares = Array.from({ length: WRITERS }, (_, w) => entries.slice(w * per, (w + 1) * per));
    const stalls = new StallMeter(10);
    const start = performance.now();
    const indexes = await Promise.all(
      shares.map((share) => runPool(share.length, window, (i) => log.appendBytes(share[i]!))),
    );
    const end = performance.now();
    const eventLoopMaxDelayMs = stalls.stop();
    const seconds = (end - start) / 1000;
    const batches = journal.stats();

    const seen = new Uint8Array(entries.length);
    for (const index of indexes.flat()) seen[index] = 1;
    if (seen.includes(0) || (await log.size()) !== entries.length) {
      throw new Error(`the log does not hold exactly the ${entries.length} appended entries`);
    }

    const publishedAtEnd = await log.publishedSize();
    while ((await log.publishedSize()) < entries.length) await log.publish();
    const catchUpSeconds = (performance.now() - end) / 1000;

    const proofTimes = proofs > 0 ? await timeProofs(log, entries.length, proofs) : undefined;
    return {
      count: entries.length,
      window,
      seconds,
      entriesPerSecond: entries.length / seconds,
      batches,
      publishedAtEnd,
      catchUpSeconds,
      proofs: proofTimes,
      eventLoopMaxDelayMs,
      peakRss: hwmReset ? readProcMemory(process.pid)?.hwm : undefined,
    };
  } finally {
    await log.close();
    await scratch.remove();
  }
}

/** `count` proofs at random indexes of the published tree; a sample of them verified after timing. */
async function timeProofs(
  log: TransparencyLog,
  size: number,
  count: number,
): Promise<{ count: number; p50Ms: number; p99Ms: number }> {
  const indexes = Array.from({ length: count }, () => Math.floor(Math.random() * size));
  const times: number[] = [];
  const proofs: Hash[][] = [];
  for (const index of indexes) {
    const start = performance.now();
    proofs.push(await log.proveInclusion(index, size));
    times.push(performance.now() - start);
  }
  const text = (await log.checkpoint())!;
  const { treeSize, rootHash } = parseCheckpoint(text.slice(0, text.indexOf('\n\n') + 1));
  if (treeSize !== size) throw new Error(`checkpoint of size ${treeSize}, expected ${size}`);
  for (let i = 0; i < Math.min(count, 50); i += 1) {
    const [entry] = await log.readEntries(indexes[i]!, indexes[i]! + 1);
    verifyInclusion(proofs[i]!, indexes[i]!, size, hashLeaf(entry!), rootHash);
  }
  return { count, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
}

/**
 * The longest time the event loop went without running a 10 ms timer, i.e. how long a timer,
 * a socket or the background publisher had to wait (`monitorEventLoopDelay` reports nothing
 * when its timer never runs at all, so this keeps its own).
 */
class StallMeter {
  readonly #timer: NodeJS.Timeout;
  #last = performance.now();
  #max = 0;

  constructor(intervalMs: number) {
    this.#timer = setInterval(() => this.#tick(), intervalMs);
  }

  #tick(): void {
    const now = performance.now();
    this.#max = Math.max(this.#max, now - this.#last);
    this.#last = now;
  }

  /** Stops; the longest gap between ticks (ms), counting the time since the last tick. */
  stop(): number {
    clearInterval(this.#timer);
    this.#tick();
    return this.#max;
  }
}

/** The journal under test, counting the batches the sequencer commits (one call each). */
class CountingJournal implements LogJournal {
  readonly #inner: LogJournal;
  #commits = 0;
  #entries = 0;
  #max = 0;
  #singles = 0;

  constructor(inner: LogJournal) {
    this.#inner = inner;
  }

  size(): Promise<number> {
    return this.#inner.size();
  }

  append(
    entries: readonly Uint8Array[],
    sequence: (start: number, readRecord: RecordHashReader) => readonly Buffer[],
  ): Promise<number> {
    this.#commits += 1;
    this.#entries += entries.length;
    this.#max = Math.max(this.#max, entries.length);
    if (entries.length === 1) this.#singles += 1;
    return this.#inner.append(entries, sequence);
  }

  readRecordHashes(records: readonly number[]): Promise<Buffer[]> {
    return this.#inner.readRecordHashes(records);
  }

  readEntries(from: number, to: number): Promise<Buffer[]> {
    return this.#inner.readEntries(from, to);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  stats(): BatchStats {
    return {
      commits: this.#commits,
      meanBatch: this.#commits === 0 ? 0 : this.#entries / this.#commits,
      maxBatch: this.#max,
      singleEntryCommits: this.#singles,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Entries

/**
 * `count` distinct entries of exactly ENTRY_SIZE bytes, shaped like the log's canonical-JSON
 * audit entries (sorted keys, no spaces): a download of a sample by a token at a site.
 */
function makeEntries(count: number, tag = 'bench'): Buffer[] {
  const random = randomBytes(count * 36);
  const base = Date.UTC(2025, 0, 1);
  const entries: Buffer[] = [];
  for (let i = 0; i < count; i += 1) {
    const sha256 = random.toString('hex', i * 36, i * 36 + 32);
    const actor = random.toString('hex', i * 36 + 32, i * 36 + 36);
    const time = new Date(base + i * 7).toISOString();
    const head = `{"actor":"token:${actor}","n":"${tag}-${i}","pad":"`;
    const tail = `","sha256":"${sha256}","site":"zurich","time":"${time}","type":"sample.download"}`;
    const pad = ENTRY_SIZE - Buffer.byteLength(head) - Buffer.byteLength(tail);
    entries.push(Buffer.from(`${head}${'x'.repeat(Math.max(0, pad))}${tail}`, 'utf8'));
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------
// Report

function rate(result: { entriesPerSecond: number }): string {
  return Math.round(result.entriesPerSecond).toLocaleString('en');
}

function summary(values: readonly number[]): Summary | null {
  return values.length === 0 ? null : summarize(values);
}

function thousands(summary: Summary | null): string {
  if (summary === null) return 'n/a';
  const k = (value: number) => Math.round(value).toLocaleString('en');
  return `${k(summary.median)} (${k(summary.min)}–${k(summary.max)})`;
}

function report(results: Results, publication?: object): void {
  const { plan } = results;
  const baseline = summarize(results.baseline.map((r) => r.entriesPerSecond));
  const frontier = summarize(results.frontier.map((r) => r.entriesPerSecond));
  const oneShot = summary(results.oneShot.map((r) => r.entriesPerSecond));
  const loopDelay = summarize(results.appends.map((r) => r.eventLoopMaxDelayMs));
  const appends = summarize(results.appends.map((r) => r.entriesPerSecond));
  const strict = summarize(results.strict.map((r) => r.entriesPerSecond));
  const ratio = appends.median / baseline.median;
  const pass = ratio >= RATIO_GOAL;
  const p50 = summary(results.appends.flatMap((r) => (r.proofs === undefined ? [] : [r.proofs.p50Ms])));
  const p99 = summary(results.appends.flatMap((r) => (r.proofs === undefined ? [] : [r.proofs.p99Ms])));
  const catchUp = summarize(results.appends.map((r) => r.catchUpSeconds));
  const seconds = summarize(results.appends.map((r) => r.seconds));

  if (plan.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          benchmark: 'log',
          node: process.version,
          cpus: cpus().length,
          writers: WRITERS,
          entryBytes: ENTRY_SIZE,
          ...results,
          summary: {
            hashingLimitEntriesPerSecond: baseline,
            frontierEntriesPerSecond: frontier,
            oneShotHashEntriesPerSecond: oneShot,
            eventLoopMaxDelayMs: loopDelay,
            appendEntriesPerSecond: appends,
            strictEntriesPerSecond: strict,
            appendSeconds: seconds,
            publicationCatchUpSeconds: catchUp,
            proofP50Ms: p50,
            proofP99Ms: p99,
          },
          goals: { ratio: { goal: RATIO_GOAL, value: ratio, pass } },
          ...(publication === undefined ? {} : { publication }),
        },
        null,
        2,
      )}\n`,
    );
    return;
  }

  const out: string[] = [''];
  out.push(
    `Transparency log: ${WRITERS} concurrent writers appending ${ENTRY_SIZE}-byte entries to TransparencyLog ` +
      '(SqliteLogJournal WAL synchronous=FULL, group commit;',
  );
  out.push(
    '  FsTileStore tiles + Ed25519-signed checkpoint published every 1 s in the background), ' +
      'vs. the SHA-256 hashing limit on the same entries.',
  );
  out.push(
    `Medians (min–max): hashing ${results.baseline.length} rounds, appends ${results.appends.length} ` +
      `round(s) of ${plan.count.toLocaleString('en')}, interleaved; node ${process.version}, ${cpus().length} CPUs.`,
  );
  if (results.stoppedEarly) {
    out.push(
      `Note: fewer append rounds than planned (${plan.appendRounds}): a round took > ${ROUND_LIMIT_SECONDS} s.`,
    );
  }
  out.push('');
  const first = results.appends[0]!;
  const strictFirst = results.strict[0]!;
  const batchText = (b: BatchStats) =>
    `${b.commits} commits, mean ${fixed(b.meanBatch)} / max ${b.maxBatch}, ${b.singleEntryCommits} of 1 entry`;
  out.push(
    renderTable(
      [
        { header: 'phase' },
        { header: 'entries/s median (min–max)', align: 'right' },
        { header: 'vs limit', align: 'right' },
        { header: 'batches (round 1)' },
      ],
      [
        [
          `hashing limit: hashLeaf + n-1 hashChildren, ${plan.count.toLocaleString('en')}`,
          thousands(baseline),
          '100%',
          '',
        ],
        [
          'Frontier.append in memory (informative)',
          thousands(frontier),
          `${fixed((frontier.median / baseline.median) * 100, 0)}%`,
          '',
        ],
        [
          'one-shot crypto.hash, same hashes (informative)',
          thousands(oneShot),
          oneShot === null ? 'n/a' : `${fixed((oneShot.median / baseline.median) * 100, 0)}%`,
          oneShot === null ? '' : `appends are ${fixed((appends.median / oneShot.median) * 100, 0)}% of this`,
        ],
        [
          `appends, window ${plan.window}/writer (≤ ${WRITERS * plan.window} in flight), ${plan.count.toLocaleString('en')}`,
          thousands(appends),
          `${fixed(ratio * 100, 0)}%`,
          batchText(first.batches),
        ],
        [
          `appends, strict window 1 (each writer awaits each), ${strictFirst.count.toLocaleString('en')}`,
          thousands(strict),
          `${fixed((strict.median / baseline.median) * 100, 1)}%`,
          batchText(strictFirst.batches),
        ],
      ],
    ),
  );
  out.push('');
  out.push(
    renderTable(
      [{ header: `after ${plan.count.toLocaleString('en')} appends` }, { header: 'median (min–max)' }],
      [
        ['append time, first append to last resolved (s)', withRange(seconds, 2)],
        [
          'published checkpoint size when the last append resolved',
          results.appends.map((r) => r.publishedAtEnd.toLocaleString('en')).join(', '),
        ],
        ['publication catch-up after the last append (s)', withRange(catchUp, 2)],
        ['event loop: longest gap between 10 ms timer runs while appending (ms)', withRange(loopDelay, 0)],
        [
          `inclusion proof p50 (ms, ${first.proofs?.count ?? 0} random indexes/round)`,
          p50 === null ? 'n/a' : withRange(p50, 3),
        ],
        ['inclusion proof p99 (ms)', p99 === null ? 'n/a' : withRange(p99, 3)],
        [
          'peak RSS of this process (VmHWM; entries held in memory)',
          `${mebibytes(results.peakRss)} overall; per append round ${results.appends.map((r) => mebibytes(r.peakRss)).join(', ')}`,
        ],
      ],
    ),
  );
  out.push('');
  out.push(
    `Writers: each of ${WRITERS} keeps up to ${plan.window} appends in flight (--window), as a server with ` +
      'many requests does; with window 1 each writer awaits',
  );
  out.push(
    `every append, so a commit holds at most ${WRITERS} entries and the figure is fsync latency, not throughput.`,
  );
  out.push('');
  out.push('Goals:');
  out.push(
    `  appends >= 40% of the hashing limit: ${fixed(ratio * 100, 0)}% ` +
      `(${rate({ entriesPerSecond: appends.median })} / ${rate({ entriesPerSecond: baseline.median })} entries/s)  ${passFail(pass)}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

// ---------------------------------------------------------------------------------------------
// Checkpoint publication with witnesses

interface PublicationResults {
  readonly seconds: number;
  readonly without: readonly PublicationRound[];
  readonly with: readonly PublicationRound[];
}

async function measurePublication(plan: Plan): Promise<PublicationResults> {
  const without: PublicationRound[] = [];
  const withWitnesses: PublicationRound[] = [];
  for (let round = 0; round < plan.publicationRounds; round++) {
    // Alternate which side goes first, so drift hits both alike.
    const order = round % 2 === 0 ? [0, WITNESSES] : [WITNESSES, 0];
    for (const witnesses of order) {
      const result = await publicationRound(witnesses, plan.publicationSeconds);
      (witnesses === 0 ? without : withWitnesses).push(result);
      progress(
        `log: publication round ${round + 1}, ${witnesses} witnesses: median ${fixed(median(result.publishMs), 1)} ms ` +
          `over ${result.publishMs.length} publications at ${rate({ entriesPerSecond: result.appendsPerSecond })} appends/s`,
      );
    }
  }
  return { seconds: plan.publicationSeconds, without, with: withWitnesses };
}

function publicationJson(results: PublicationResults): object {
  const all = (rounds: readonly PublicationRound[]) => rounds.flatMap((r) => r.publishMs);
  const without = summarize(all(results.without));
  const withWitnesses = summarize(all(results.with));
  const added = withWitnesses.median - without.median;
  const cosigned = summarize(results.with.flatMap((r) => r.cosignedMs));
  return {
    benchmark: 'log-publication',
    appendsPerSecond: PUBLICATION_RATE,
    witnesses: WITNESSES,
    ...results,
    summary: {
      withoutMs: without,
      withMs: withWitnesses,
      addedMs: added,
      cosignedMs: cosigned,
      cosignedAddedMs: cosigned.median - without.median,
      cosignedAtFirst: results.with.reduce((n, r) => n + r.cosignedAtFirst, 0),
    },
    goals: { addedMs: { goal: ADDED_MS_GOAL, value: added, pass: added <= ADDED_MS_GOAL } },
  };
}

function reportPublication(results: PublicationResults, json: boolean): void {
  const all = (rounds: readonly PublicationRound[]) => rounds.flatMap((r) => r.publishMs);
  const without = summarize(all(results.without));
  const withWitnesses = summarize(all(results.with));
  const added = withWitnesses.median - without.median;
  const pass = added <= ADDED_MS_GOAL;
  const p90 = (rounds: readonly PublicationRound[]) => percentile(all(rounds), 90);
  const cosigned = results.with.reduce((n, r) => n + r.fullyCosigned, 0);
  if (json) {
    process.stdout.write(`${JSON.stringify(publicationJson(results), null, 2)}\n`);
    return;
  }
  const out: string[] = [''];
  out.push(
    `Checkpoint publication at ${PUBLICATION_RATE.toLocaleString('en')} appends/s, one every second, ` +
      `${results.without.length} round(s) of ${results.seconds} s per side, interleaved:`,
  );
  out.push(
    `  each publication timed from its start to its checkpoint first written (tiles, signature, and the cosignatures ` +
      `of the ${WITNESSES} \`glasshouse witness\` processes on 127.0.0.1 that had answered by then; later ones are added after).`,
  );
  out.push('');
  const rows = [
    ['no witnesses', without, p90(results.without), results.without],
    [`${WITNESSES} witnesses`, withWitnesses, p90(results.with), results.with],
  ] as const;
  out.push(
    renderTable(
      [
        { header: 'publication' },
        { header: 'median ms (min–max)', align: 'right' },
        { header: 'p90 ms', align: 'right' },
        { header: 'publications', align: 'right' },
        { header: 'appends/s achieved', align: 'right' },
      ],
      rows.map(([label, s, p, rounds]) => [
        label,
        withRange(s, 1),
        fixed(p, 1),
        String(s.n),
        rounds.map((r) => rate({ entriesPerSecond: r.appendsPerSecond })).join(', '),
      ]),
    ),
  );
  const full = summarize(results.with.flatMap((r) => r.cosignedMs));
  const atFirst = results.with.reduce((n, r) => n + r.cosignedAtFirst, 0);
  out.push(
    `  checkpoints carrying all ${WITNESSES} cosignatures in the end: ${cosigned} of ${withWitnesses.n}; ` +
      `already when first written: ${atFirst}`,
  );
  if (full.n > 0) {
    out.push(
      `  time to the checkpoint carrying all ${WITNESSES} cosignatures: median ${withRange(full, 1)} ms, ` +
        `${fixed(full.median - without.median, 1)} ms over the publication without witnesses (not a goal)`,
    );
  }
  const trips = results.with.flatMap((r) => r.roundTripMs);
  if (trips.length > 0) {
    out.push(
      `  witness add-checkpoint round trip: median ${fixed(median(trips), 1)} ms, p90 ${fixed(percentile(trips, 90), 1)} ms ` +
        '(asked while the tiles are written, so it adds only what outlasts them)',
    );
  }
  out.push('');
  out.push('Goals:');
  out.push(
    `  ${WITNESSES} witnesses add <= ${ADDED_MS_GOAL} ms to the median publication: ${fixed(added, 1)} ms ` +
      `(${fixed(withWitnesses.median, 1)} vs ${fixed(without.median, 1)} ms)  ${passFail(pass)}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}
