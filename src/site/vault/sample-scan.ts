import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import type { SampleScanRequest, SampleScanResult } from '../../ports/site-client.js';
import { eachLimited } from '../../shared/each-limited.js';
import { type CompiledRules, compiledRulesOf, rulesSha256 } from '../../shared/yara-rules.js';
import { blobFilePool } from './crypto/blob-file-pool.js';
import { openBlobPlaintext, type SealedBlobs } from './sample-copy.js';
import type { VaultTables } from './vault-tables.js';

/** Samples of a store without local files matched at once (on this thread, one after the other). */
const SAMPLES_STREAMED_AT_ONCE = 8;
/**
 * Samples a scan lane of the blob-file pool holds at once: the one it matches and the next,
 * already there when it is done (no round trip idle between them), and no more, so that a
 * lane with large samples queued does not hold work another lane could take.
 */
const SAMPLES_PER_SCAN_LANE = 2;

/**
 * A hunt's batch at this site: the next samples in the order they arrived (the id of their
 * first submission here, which only grows), each decrypted and matched against the rules.
 *
 * Samples in the filesystem store are opened, authenticated and matched on the blob-file
 * worker threads, whose memory alone ever holds their plaintext. Any other store (an object
 * store) streams the plaintext through this thread into memory and matches it here.
 */
export async function scanSamples(
  db: Kysely<VaultTables>,
  sealed: SealedBlobs,
  request: SampleScanRequest,
): Promise<SampleScanResult> {
  const rules = { source: request.rules, sha256: rulesSha256(request.rules) };
  // Compiled here first, whatever the store: rules that do not compile fail the batch at once.
  const compiled = compiledRulesOf(rules.source, rules.sha256);
  const batch = await nextArrivals(db, request.after, request.limit);
  const files = sealed.blobs.localFiles;
  // The largest first: the batch ends with small samples on every lane, not one large one on one.
  const order = batch.map((_, i) => i).sort((a, b) => batch[b]!.size - batch[a]!.size);
  const atOnce =
    files === undefined ? SAMPLES_STREAMED_AT_ONCE : SAMPLES_PER_SCAN_LANE * blobFilePool().scanLanes;
  const results: ({ matches: readonly string[]; size: number } | undefined)[] = [];
  await eachLimited(order, atOnce, async (i) => {
    const sha256 = batch[i]!.sha256;
    results[i] =
      files === undefined
        ? await scanStreamed(sealed, sha256, compiled)
        : // The opening key, not the master key: a key rotation re-wraps a blob's data key beside it.
          await blobFilePool().scan(
            { path: files.pathOf(sha256), masterKey: await sealed.openingKey(sha256) },
            rules,
          );
  });
  let bytes = 0;
  let skipped = 0;
  const matches: { sha256: string; rules: string[] }[] = [];
  batch.forEach((_, i) => {
    const result = results[i];
    if (result === undefined) {
      skipped += 1;
      return;
    }
    bytes += result.size;
    if (result.matches.length > 0) matches.push({ sha256: batch[i]!.sha256, rules: [...result.matches] });
  });
  return {
    scanned: batch.length - skipped,
    skipped,
    bytes,
    matches,
    next: batch.at(-1)?.arrival ?? request.after,
    end: batch.length < request.limit,
  };
}

/**
 * The samples whose first submission here comes after `after`, in that order. A sample
 * submitted again later is not taken again: only its first submission places it.
 */
async function nextArrivals(
  db: Kysely<VaultTables>,
  after: number,
  limit: number,
): Promise<{ sha256: string; arrival: number; size: number }[]> {
  const rows = await db
    .selectFrom('submissions as s')
    .leftJoin('samples', 'samples.sha256', 's.sha256')
    .select(['s.id', 's.sha256', 'samples.size'])
    .where('s.id', '>', after)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('submissions as earlier')
            .select('earlier.id')
            .whereRef('earlier.sha256', '=', 's.sha256')
            .whereRef('earlier.id', '<', 's.id'),
        ),
      ),
    )
    .orderBy('s.id')
    .limit(limit)
    .execute();
  return rows.map((row) => ({ sha256: row.sha256, arrival: Number(row.id), size: Number(row.size ?? 0) }));
}

/** A sample of a store without local files: decrypted through this thread, matched here. */
async function scanStreamed(
  sealed: SealedBlobs,
  sha256: string,
  rules: CompiledRules,
): Promise<{ matches: readonly string[]; size: number } | undefined> {
  if (!(await sealed.blobs.has(sha256))) return undefined;
  const pieces: Buffer[] = [];
  try {
    await pipeline(
      await openBlobPlaintext(sealed, sha256),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          pieces.push(chunk);
          callback();
        },
      }),
    );
  } catch {
    return undefined;
  }
  const plaintext = Buffer.concat(pieces);
  try {
    return { matches: rules.matching(plaintext), size: plaintext.length };
  } finally {
    plaintext.fill(0);
  }
}
