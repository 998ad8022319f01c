import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { openBlobStore, openMetadataStore } from '../../adapters/storage/open-stores.js';
import { openElsewhere } from '../../adapters/storage/sqlite/sqlite-in-use.js';
import type { Config } from '../../config/config.js';
import { keysDirectory, restrictNewFiles } from '../../config/data-dir.js';
import { KeyError } from '../../config/key-errors.js';
import {
  destroyKeyFile,
  fsyncDirectoryOf,
  type MasterKeyFiles,
  masterKeyFiles,
  masterKeyId,
  type RotationState,
  readKeyFile,
  readRotationState,
  removeFileDurably,
  writeFileDurably,
} from '../../config/master-key-files.js';
import { openNodeLog } from '../../ledger/open-node-log.js';
import type { TransparencyLog } from '../../ledger/transparency-log.js';
import type { Actor } from '../../ports/audit-sink.js';
import type { BlobStore, MetadataStore } from '../../ports/storage.js';
import { StorageError } from '../../shared/storage-errors.js';
import { type SiteTables, siteDirectory } from '../../site/site-node.js';
import {
  ENVELOPE_HEADER_SIZE,
  headerWrapOf,
  rewrapDataKey,
  unwrapKey,
  wrapKey,
} from '../../site/vault/crypto/index.js';
import { SITE_MIGRATIONS } from '../../site-main.js';

/** Rows moved to the new key in one transaction. */
const BATCH_SIZE = 200;

export interface RotationOptions {
  readonly site: string;
  readonly actor: Actor;
  readonly now?: () => Date;
  /**
   * Tests only: a pause after every batch, and batches of one row, so that a test can kill
   * the process in the middle of a rotation.
   */
  readonly pauseBetweenBatchesMs?: number;
}

export interface RotationReport {
  readonly site: string;
  readonly dataDir: string;
  /** Ids of the key replaced and of the key now in use (never key material). */
  readonly from: string;
  readonly to: string;
  readonly started: string;
  readonly finished: string;
  /** True when this run completed a rotation an earlier run had begun. */
  readonly resumed: boolean;
  /** Installation keys and sample data keys now wrapped under the new key. */
  readonly installationKeys: number;
  readonly sampleKeys: number;
}

/**
 * Rotates a site's master key, offline (the site's server must be stopped: refused with
 * `DATA_DIR_IN_USE` otherwise). A new key is written beside the old one; every key wrapped
 * under the old one (installation keys, samples' data keys) is wrapped again under the new
 * one, a batch a transaction, each row naming the key it is under; samples are not
 * encrypted again. Once every wrap has moved and the store is durable, the old key is
 * overwritten and unlinked and the new one takes its name. The site's log records the
 * start and the end (ids and counts).
 *
 * Resumable after a crash at any point: `<site>.master.rotation.json` says a rotation is
 * under way (and the site refuses to start meanwhile); running this again completes it.
 * Until the old key is destroyed both keys are on disk, so every wrap opens with one.
 *
 * @example
 * await rotateMasterKey(config, { site: 'zurich', actor: CLI_ACTOR });
 */
export async function rotateMasterKey(config: Config, options: RotationOptions): Promise<RotationReport> {
  restrictNewFiles();
  const now = options.now ?? (() => new Date());
  const site = config.sites.find((s) => s.name === options.site);
  const keysDir = keysDirectory(config.dataDir);
  const files = masterKeyFiles(keysDir, options.site);
  if (site === undefined || !(existsSync(files.key) || existsSync(files.next))) {
    throw new KeyError(
      'MASTER_KEY_NOT_FOUND',
      `no site ${options.site} with a master key in ${config.dataDir} (sites with one: ${sitesWithKeys(keysDir).join(', ') || 'none'})`,
    );
  }
  const directory = siteDirectory(config.dataDir, site.name);
  refuseWhileServed(config, directory, site.name);

  const log = await openNodeLog(config, site.name, directory, { tiles: site.storage.tiles, publish: false });
  let metadata: MetadataStore<SiteTables> | undefined;
  try {
    metadata = await openMetadataStore<SiteTables>(site.storage.metadata, {
      file: join(directory, 'site.db'),
      groupSync: true,
      migrations: SITE_MIGRATIONS,
    });
    const blobs = await openBlobStore(site.storage.blobs, directory);
    const rotation = new Rotation({ files, site: site.name, log, metadata, blobs, now, options });
    return { ...(await rotation.run()), dataDir: config.dataDir };
  } finally {
    await metadata?.close();
    await log.close();
  }
}

function refuseWhileServed(config: Config, directory: string, site: string): void {
  for (const file of [join(directory, 'log', 'journal.db'), join(directory, 'site.db')]) {
    if (openElsewhere(file)) {
      throw new StorageError(
        'DATA_DIR_IN_USE',
        `a glasshouse server (or another command) runs on ${config.dataDir} (${file} is open in another process): stop the server of site ${site} before rotating its key, then run this again`,
      );
    }
  }
}

function sitesWithKeys(keysDir: string): string[] {
  if (!existsSync(keysDir)) return [];
  return readdirSync(keysDir)
    .filter((name) => name.endsWith('.master.key') && !name.endsWith('.master.next.key'))
    .map((name) => name.slice(0, -'.master.key'.length))
    .sort();
}

interface RotationParts {
  readonly files: MasterKeyFiles;
  readonly site: string;
  readonly log: TransparencyLog;
  readonly metadata: MetadataStore<SiteTables>;
  readonly blobs: BlobStore;
  readonly now: () => Date;
  readonly options: RotationOptions;
}

class Rotation {
  readonly #p: RotationParts;

  constructor(parts: RotationParts) {
    this.#p = parts;
  }

  async run(): Promise<Omit<RotationReport, 'dataDir'>> {
    const { files } = this.#p;
    const begun = readRotationState(files);
    const state = begun ?? (await this.#begin());
    if (begun !== undefined) await this.#record('master-key.rotation.resumed', state, {});
    if (existsSync(files.next)) {
      const next = readKeyFile(files.next);
      if (masterKeyId(next) !== state.to) {
        throw new KeyError(
          'KEY_ROTATION_UNFINISHED',
          `${files.next} is not the key ${state.to} that ${files.rotation} names: restore it from where it was copied, never delete it`,
        );
      }
      // Once the old key is gone (a crash while destroying it), every wrap is under the new one.
      const old = existsSync(files.key) ? readKeyFile(files.key) : undefined;
      if (old !== undefined && masterKeyId(old) !== state.from) {
        throw new KeyError(
          'KEY_ROTATION_UNFINISHED',
          `${files.key} is not the key ${state.from} that ${files.rotation} names: restore it, never delete it`,
        );
      }
      await this.#moveWraps(state, old, next);
      await this.#retireOldKey(state);
    }
    const counts = await this.#counts(state.to);
    const finished = this.#p.now().toISOString();
    await this.#record('master-key.rotation.finished', state, counts);
    removeFileDurably(files.rotation);
    return {
      site: this.#p.site,
      from: state.from,
      to: state.to,
      started: state.started,
      finished,
      resumed: begun !== undefined,
      ...counts,
    };
  }

  /** Writes the new key beside the old one, then the record that a rotation is under way. */
  async #begin(): Promise<RotationState> {
    const { files } = this.#p;
    if (!existsSync(files.next)) writeFileDurably(files.next, randomBytes(32));
    const state: RotationState = {
      from: masterKeyId(readKeyFile(files.key)),
      to: masterKeyId(readKeyFile(files.next)),
      started: this.#p.now().toISOString(),
    };
    writeFileDurably(files.rotation, `${JSON.stringify(state, null, 2)}\n`);
    await this.#record('master-key.rotation.started', state, {});
    return state;
  }

  async #moveWraps(state: RotationState, old: Buffer | undefined, next: Buffer): Promise<void> {
    const batch = this.#p.options.pauseBetweenBatchesMs === undefined ? BATCH_SIZE : 1;
    const under = (keyId: string | null): Buffer => {
      if (old !== undefined && (keyId === null || keyId === state.from)) return old;
      throw new KeyError(
        'KEY_ROTATION_UNFINISHED',
        `a key of site ${this.#p.site} is wrapped under ${keyId ?? 'an unrecorded key'}, neither ${state.from} nor ${state.to}`,
      );
    };
    const db = this.#p.metadata.db;
    for (;;) {
      const rows = await db
        .selectFrom('subject_keys')
        .select(['installation_id', 'wrapped_key', 'key_id'])
        .where((eb) => eb.or([eb('key_id', 'is', null), eb('key_id', '!=', state.to)]))
        .orderBy('installation_id')
        .limit(batch)
        .execute();
      if (rows.length === 0) break;
      await db.transaction().execute(async (trx) => {
        for (const row of rows) {
          const key = unwrapKey(under(row.key_id), row.wrapped_key);
          await trx
            .updateTable('subject_keys')
            .set({ wrapped_key: wrapKey(next, key), key_id: state.to })
            .where('installation_id', '=', row.installation_id)
            .execute();
          key.fill(0);
        }
      });
      await this.#pause();
    }
    let after = '';
    for (;;) {
      const rows = await db
        .selectFrom('samples')
        .leftJoin('blob_key_wraps', 'blob_key_wraps.sha256', 'samples.sha256')
        .select([
          'samples.sha256 as sha256',
          'blob_key_wraps.header_wrap as header_wrap',
          'blob_key_wraps.key_id as key_id',
          'blob_key_wraps.wrapped_key as wrapped_key',
        ])
        .where('samples.sha256', '>', after)
        .where((eb) =>
          eb.or([eb('blob_key_wraps.key_id', 'is', null), eb('blob_key_wraps.key_id', '!=', state.to)]),
        )
        .orderBy('samples.sha256')
        .limit(batch)
        .execute();
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.sha256;
      const moved: { sha256: string; header_wrap: Buffer; wrapped_key: Buffer }[] = [];
      for (const row of rows) {
        const start = await blobStart(this.#p.blobs, row.sha256);
        // A sample whose blob is gone has no key to move (the residency audit reports it).
        if (start === undefined) continue;
        const headerWrap = headerWrapOf(start);
        const rewrapped =
          row.header_wrap !== null && row.wrapped_key !== null && headerWrap.equals(row.header_wrap)
            ? rewrapDataKey(under(row.key_id), next, row.wrapped_key)
            : rewrapDataKey(under(state.from), next, headerWrap);
        moved.push({ sha256: row.sha256, header_wrap: headerWrap, wrapped_key: rewrapped });
      }
      await db.transaction().execute(async (trx) => {
        for (const row of moved) {
          await trx
            .insertInto('blob_key_wraps')
            .values({ ...row, key_id: state.to })
            .onConflict((c) =>
              c.column('sha256').doUpdateSet({
                header_wrap: row.header_wrap,
                wrapped_key: row.wrapped_key,
                key_id: state.to,
              }),
            )
            .execute();
        }
      });
      await this.#pause();
    }
    // Wraps of samples deleted since an earlier rotation open nothing any more.
    await db
      .deleteFrom('blob_key_wraps')
      .where('sha256', 'not in', db.selectFrom('samples').select('sha256'))
      .execute();
  }

  /**
   * Destroys the old key once nothing needs it: the store made durable first (a wrap lost
   * with an unsynced commit would open with neither key), then the key's identity written,
   * the old key overwritten and unlinked, and the new key renamed into its place.
   */
  async #retireOldKey(state: RotationState): Promise<void> {
    const { files, metadata } = this.#p;
    const left = await this.#wrapsNotUnder(state.to);
    if (left > 0) {
      throw new KeyError(
        'KEY_ROTATION_UNFINISHED',
        `${left} keys of site ${this.#p.site} are still under ${state.from}; the old key is kept: run \`glasshouse keys rotate --site ${this.#p.site}\` again`,
      );
    }
    await metadata.durable();
    const meta = {
      id: state.to,
      created: state.started,
      rotated: this.#p.now().toISOString(),
      previous: state.from,
    };
    writeFileDurably(files.meta, `${JSON.stringify(meta, null, 2)}\n`);
    destroyKeyFile(files.key);
    renameSync(files.next, files.key);
    fsyncDirectoryOf(files.key);
  }

  async #wrapsNotUnder(keyId: string): Promise<number> {
    const db = this.#p.metadata.db;
    const subjects = await db
      .selectFrom('subject_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where((eb) => eb.or([eb('key_id', 'is', null), eb('key_id', '!=', keyId)]))
      .executeTakeFirstOrThrow();
    let samples = 0;
    const unmoved = await db
      .selectFrom('samples')
      .leftJoin('blob_key_wraps', 'blob_key_wraps.sha256', 'samples.sha256')
      .select('samples.sha256 as sha256')
      .where((eb) =>
        eb.or([eb('blob_key_wraps.key_id', 'is', null), eb('blob_key_wraps.key_id', '!=', keyId)]),
      )
      .execute();
    for (const row of unmoved) if (await this.#p.blobs.has(row.sha256)) samples += 1;
    return Number(subjects.n) + samples;
  }

  async #counts(keyId: string): Promise<{ installationKeys: number; sampleKeys: number }> {
    const db = this.#p.metadata.db;
    const count = async (table: 'subject_keys' | 'blob_key_wraps') =>
      Number(
        (
          await db
            .selectFrom(table)
            .select(sql<number>`count(*)`.as('n'))
            .where('key_id', '=', keyId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    return { installationKeys: await count('subject_keys'), sampleKeys: await count('blob_key_wraps') };
  }

  async #record(type: string, state: RotationState, counts: object): Promise<void> {
    await this.#p.log.append({
      type,
      time: this.#p.now().toISOString(),
      actor: this.#p.options.actor,
      site: this.#p.site,
      from: state.from,
      to: state.to,
      ...counts,
    });
  }

  async #pause(): Promise<void> {
    const ms = this.#p.options.pauseBetweenBatchesMs;
    if (ms !== undefined) await sleep(ms);
  }
}

/** The first bytes of a blob (its header), or undefined when the store has no such blob. */
async function blobStart(blobs: BlobStore, sha256: string): Promise<Buffer | undefined> {
  if (!(await blobs.has(sha256))) return undefined;
  const stream = await blobs.read(sha256);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= ENVELOPE_HEADER_SIZE) break;
  }
  stream.destroy();
  return Buffer.concat(chunks);
}
