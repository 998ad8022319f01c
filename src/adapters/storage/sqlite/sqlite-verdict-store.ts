import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import {
  type IndexedVerdict,
  VERDICT_BY_CODE,
  VERDICT_CODE,
  type VerdictHashKind,
  type VerdictInput,
} from '../../../control/lookup/verdict.js';
import type {
  ImportSession,
  IndexSink,
  ThreatVerdict,
  VerdictStore,
} from '../../../control/lookup/verdict-store.js';
import { verdictMigrations } from '../../../control/lookup/verdict-tables.js';

const PAGE = 32_768;
const MERGE_CHUNK = 100_000;

type Row = [digest: Buffer, verdict: number, threatId: number, firstSeen: number];
type KeyedRow = [kind: string, ...Row];

/**
 * The embedded verdict store: its own SQLite file, with raw prepared statements rather than
 * Kysely's query builder on the bulk paths (a feed of ten million lines is ten million
 * inserts; building each query would cost more than running it). Kysely still owns the
 * schema through the migrations of `control/lookup/verdict-tables.ts`.
 *
 * better-sqlite3 is synchronous, so one statement never interleaves with another; a merge
 * spans many event-loop turns inside one transaction, so writes take turns on a queue.
 */
export async function openSqliteVerdictStore(options: {
  readonly file: string;
  /** SQLite page cache for this connection (main and temp), in bytes. */
  readonly cacheBytes?: number;
}): Promise<VerdictStore> {
  mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
  closeSync(openSync(options.file, 'a', 0o600));
  const database = new Database(options.file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 10000');
  const cacheKiB = Math.round((options.cacheBytes ?? 256 * 1024 * 1024) / 1024);
  database.pragma(`cache_size = -${cacheKiB}`);
  database.pragma(`temp.cache_size = -${cacheKiB}`);
  const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database }) });
  const migrator = new Migrator({ db: kysely, provider: { getMigrations: async () => verdictMigrations } });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) {
    await kysely.destroy();
    throw error;
  }
  return new SqliteVerdictStore(database, kysely);
}

class SqliteVerdictStore implements VerdictStore {
  readonly #db: Database.Database;
  readonly #kysely: Kysely<unknown>;
  readonly #queue = new WriteQueue();
  readonly #scanFirst: Database.Statement;
  readonly #scanNext: Database.Statement;
  readonly #ensureThreat: Database.Statement;
  readonly #threatId: Database.Statement;
  readonly #upsert: Database.Statement;
  readonly #bump: Database.Statement;
  readonly #generation: Database.Statement;
  #stages = 0;

  constructor(db: Database.Database, kysely: Kysely<unknown>) {
    this.#db = db;
    this.#kysely = kysely;
    const columns = 'digest, verdict, threat_id, first_seen';
    this.#scanFirst = db
      .prepare(`select ${columns} from verdicts where kind = ? order by digest limit ${PAGE}`)
      .raw(true);
    this.#scanNext = db
      .prepare(`select ${columns} from verdicts where kind = ? and digest > ? order by digest limit ${PAGE}`)
      .raw(true);
    this.#ensureThreat = db.prepare('insert or ignore into threats (name) values (?)');
    this.#threatId = db.prepare('select id from threats where name = ?').pluck(true);
    this.#upsert = db.prepare(
      `insert into verdicts (kind, digest, verdict, threat_id, first_seen, last_seen, source, updated_at)
       values (?, ?, ?, ?, ?, ?, ?, ?)
       on conflict (kind, digest) do update set verdict = excluded.verdict, threat_id = excluded.threat_id,
         first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
         source = excluded.source, updated_at = excluded.updated_at
       returning first_seen`,
    );
    this.#bump = db
      .prepare('update verdict_generation set generation = generation + 1 where id = 1 returning generation')
      .pluck(true);
    this.#generation = db.prepare('select generation from verdict_generation where id = 1').pluck(true);
  }

  async counts(): Promise<Record<VerdictHashKind, number>> {
    const rows = this.#db.prepare('select kind, count(*) as n from verdicts group by kind').all() as {
      kind: string;
      n: number;
    }[];
    const counts = { md5: 0, sha1: 0, sha256: 0 };
    for (const row of rows) if (row.kind in counts) counts[row.kind as VerdictHashKind] = row.n;
    return counts;
  }

  async scan(kind: VerdictHashKind, batch: (rows: readonly IndexedVerdict[]) => void): Promise<void> {
    let page = this.#scanFirst.all(kind) as Row[];
    while (page.length > 0) {
      batch(page.map((row) => indexed(kind, row)));
      if (page.length < PAGE) return;
      // Page by key, yielding between pages, so a reload never stalls the event loop for long.
      await new Promise((resolve) => setImmediate(resolve));
      page = this.#scanNext.all(kind, page.at(-1)![0]) as Row[];
    }
  }

  async threats(afterId: number): Promise<{ id: number; name: string }[]> {
    return this.#db.prepare('select id, name from threats where id > ? order by id').all(afterId) as {
      id: number;
      name: string;
    }[];
  }

  put(
    rows: readonly VerdictInput[],
    time: number,
    sink: IndexSink,
  ): Promise<{ stored: IndexedVerdict[]; generation: number }> {
    return this.#queue.run(async () => {
      const { stored, generation } = this.#db.transaction(() => {
        const out = rows.map((row): IndexedVerdict => {
          this.#ensureThreat.run(row.threat);
          const threatId = this.#threatId.get(row.threat) as number;
          const firstSeen = this.#upsert.pluck(true).get(...upsertValues(row, threatId, time)) as number;
          return { kind: row.kind, digest: row.digest, verdict: row.verdict, threatId, firstSeen };
        });
        return { stored: out, generation: this.#bump.get() as number };
      })();
      sink.addThreats(await this.threats(sink.threatHigh));
      sink.apply(stored);
      return { stored, generation };
    });
  }

  async verdictsOfThreats(threats: readonly string[], limit: number): Promise<ThreatVerdict[]> {
    if (threats.length === 0) return [];
    const rows = this.#db
      .prepare(
        `select v.kind, v.digest, v.verdict, t.name, v.first_seen from verdicts v
         join threats t on t.id = v.threat_id
         where t.name in (select value from json_each(?)) order by v.kind, v.digest limit ?`,
      )
      .raw(true)
      .all(JSON.stringify(threats), limit) as [string, Buffer, number, string, number][];
    return rows.map(([kind, digest, verdict, threat, firstSeen]) => ({
      kind: kind as VerdictHashKind,
      hash: digest.toString('hex'),
      verdict: VERDICT_BY_CODE[verdict] ?? 'malicious',
      threat,
      firstSeen,
    }));
  }

  async beginImport(): Promise<ImportSession> {
    this.#stages += 1;
    return new SqliteImportSession(this.#db, this.#queue, `stage_${this.#stages}`, this.#bump);
  }

  async generation(): Promise<number> {
    return this.#queue.run(async () => this.#generation.get() as number);
  }

  async close(): Promise<void> {
    await this.#queue.run(async () => undefined);
    await this.#kysely.destroy();
  }
}

class SqliteImportSession implements ImportSession {
  readonly #db: Database.Database;
  readonly #queue: WriteQueue;
  readonly #table: string;
  readonly #bump: Database.Statement;
  #created = false;
  /** Staging order, so that for a hash listed twice the later line wins. */
  #seq = 0;

  constructor(db: Database.Database, queue: WriteQueue, table: string, bump: Database.Statement) {
    this.#db = db;
    this.#queue = queue;
    this.#table = table;
    this.#bump = bump;
  }

  stage(rows: readonly VerdictInput[]): Promise<void> {
    return this.#queue.run(async () => {
      this.#create();
      const insert = this.#db.prepare(
        `insert into temp.${this.#table} (seq, kind, digest, verdict, threat, first_seen, last_seen, source)
         values (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      this.#db.transaction(() => {
        for (const r of rows) {
          this.#seq += 1;
          insert.run(
            this.#seq,
            r.kind,
            r.digest,
            VERDICT_CODE[r.verdict],
            r.threat,
            r.firstSeen,
            r.lastSeen,
            r.source,
          );
        }
      })();
    });
  }

  commit(sink: IndexSink): Promise<{ verdicts: number; generation: number }> {
    return this.#queue.run(async () => {
      this.#create();
      const t = `temp.${this.#table}`;
      // Staged rows were appended in file order (cheap); one sort now builds a covering index
      // in key order, which the merge and the read-back walk in chunks. For a hash listed twice,
      // the later line (larger seq) comes last, so its update wins.
      this.#db
        .prepare(
          `create index ${t}_key on ${this.#table} (kind, digest, seq, verdict, threat, first_seen, last_seen, source)`,
        )
        .run();
      const count = this.#db.prepare(`select count(*) from ${t}`).pluck(true).get() as number;
      const generation = this.#merge(t);
      try {
        this.#db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // Readers in other processes may hold the WAL; SQLite checkpoints later by itself.
      }
      sink.addThreats(
        this.#db.prepare('select id, name from threats where id > ? order by id').all(sink.threatHigh) as {
          id: number;
          name: string;
        }[],
      );
      const byKind = this.#db.prepare(`select kind, count(*) from ${t} group by kind`).raw(true).all() as [
        VerdictHashKind,
        number,
      ][];
      sink.reserve({ md5: 0, sha1: 0, sha256: 0, ...Object.fromEntries(byKind) });
      await this.#readBack(t, (rows) => sink.apply(rows));
      this.#drop();
      return { verdicts: count, generation };
    });
  }

  discard(): Promise<void> {
    return this.#queue.run(async () => this.#drop());
  }

  /**
   * One transaction: new threat names, then the rows in key order, chunk by chunk in SQL
   * (no row crosses into JavaScript), keeping the earliest first-seen and latest last-seen.
   */
  #merge(t: string): number {
    const now = Math.floor(Date.now() / 1000);
    const chunkEnd = this.#db
      .prepare(
        `select kind, digest from ${t} where (kind, digest) > (?, ?) order by kind, digest limit 1 offset ${MERGE_CHUNK - 1}`,
      )
      .raw(true);
    // Two statements, so that SQLite can use the key for both bounds of a chunk.
    const merge = (bounded: boolean) =>
      this.#db.prepare(
        `insert into verdicts (kind, digest, verdict, threat_id, first_seen, last_seen, source, updated_at)
         select s.kind, s.digest, s.verdict, th.id, s.first_seen, s.last_seen, s.source, ${now}
         from ${t} s join threats th on th.name = s.threat
         where (s.kind, s.digest) > (@fromKind, @fromDigest)
           ${bounded ? 'and (s.kind, s.digest) <= (@toKind, @toDigest)' : ''}
         order by s.kind, s.digest, s.seq
         on conflict (kind, digest) do update set verdict = excluded.verdict, threat_id = excluded.threat_id,
           first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
           source = excluded.source, updated_at = excluded.updated_at`,
      );
    const mergeRange = merge(true);
    const mergeRest = merge(false);
    return this.#db.transaction(() => {
      this.#db.prepare(`insert or ignore into threats (name) select distinct threat from ${t}`).run();
      let from: [string, Buffer] = ['', Buffer.alloc(0)];
      for (;;) {
        const end = chunkEnd.get(...from) as [string, Buffer] | undefined;
        if (end === undefined) {
          mergeRest.run({ fromKind: from[0], fromDigest: from[1] });
          break;
        }
        mergeRange.run({ fromKind: from[0], fromDigest: from[1], toKind: end[0], toDigest: end[1] });
        from = end;
      }
      return this.#bump.get() as number;
    })();
  }

  /** The merged rows as stored (first-seen may be an earlier one), for the index. */
  async #readBack(t: string, apply: (rows: readonly IndexedVerdict[]) => void): Promise<void> {
    const page = this.#db
      .prepare(
        `select v.kind, v.digest, v.verdict, v.threat_id, v.first_seen from ${t} s
         join verdicts v on v.kind = s.kind and v.digest = s.digest
         where (s.kind, s.digest) > (?, ?) order by s.kind, s.digest limit ${PAGE}`,
      )
      .raw(true);
    let from: [string, Buffer] = ['', Buffer.alloc(0)];
    for (;;) {
      const rows = page.all(...from) as KeyedRow[];
      if (rows.length === 0) return;
      apply(rows.map(([kind, ...row]) => indexed(kind as VerdictHashKind, row)));
      const last = rows.at(-1)!;
      from = [last[0], last[1]];
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  #create(): void {
    if (this.#created) return;
    this.#db
      .prepare(
        `create temp table ${this.#table} (seq integer not null, kind text not null, digest blob not null, verdict integer not null,
           threat text not null, first_seen integer not null, last_seen integer not null, source text not null)`,
      )
      .run();
    this.#created = true;
  }

  #drop(): void {
    if (!this.#created) return;
    this.#db.prepare(`drop table if exists temp.${this.#table}`).run();
    this.#created = false;
  }
}

function upsertValues(row: VerdictInput, threatId: number, time: number) {
  return [
    row.kind,
    row.digest,
    VERDICT_CODE[row.verdict],
    threatId,
    row.firstSeen,
    row.lastSeen,
    row.source,
    time,
  ] as const;
}

function indexed(kind: VerdictHashKind, [digest, verdict, threatId, firstSeen]: Row): IndexedVerdict {
  return { kind, digest, verdict: VERDICT_BY_CODE[verdict] ?? 'suspicious', threatId, firstSeen };
}

/** Runs write work one at a time, in order; a failure fails only its own caller. */
class WriteQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work, work);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
