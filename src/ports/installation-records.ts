import { createHash } from 'node:crypto';
import type { SampleFingerprint } from './samples.js';

/** A sample as a site describes it, without its bytes. */
export interface RelocatableSample {
  readonly sha256: string;
  readonly sha1: string;
  readonly md5: string;
  readonly sha512: string;
  readonly size: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
  /**
   * The source's fuzzy hashes and file type, carried so the target need not read the sample
   * again to compute them; absent when the source has none yet (its backfill's, or the target's).
   */
  readonly fingerprint?: SampleFingerprint;
}

/**
 * A submission in transit between two sites: the file name is in clear only between the
 * source's unsealing and the target's sealing under its own key for the installation.
 */
export interface RelocatableSubmission {
  readonly sha256: string;
  readonly submittedAt: string;
  readonly product: string;
  readonly filename: string;
}

/** The state of the samples a site's submissions reference (residency audit). */
export interface SampleScan {
  readonly referenced: number;
  /** Referenced by a submission but without a row or a blob. */
  readonly missing: readonly string[];
  /** Present but failing to decrypt, or decrypting to other bytes than its hash. */
  readonly corrupt: readonly string[];
  /** Samples no submission here references (left by an interrupted copy). */
  readonly unreferenced: number;
}

/** Everything a site holds of one installation, except the sample bytes. */
export interface RelocatableRecords {
  readonly installationId: string;
  readonly submissions: readonly RelocatableSubmission[];
  /** The samples its submissions reference. */
  readonly samples: readonly RelocatableSample[];
  /** Telemetry rows in the load format of `STATS_ROW_COLUMNS`, each ending in `\n`. */
  readonly events: readonly string[];
}

/** Counts and order-independent checksums of an installation's records at one site. */
export interface InstallationInventory {
  readonly installationId: string;
  /** Whether the site holds the installation's key. */
  readonly key: boolean;
  readonly submissions: { readonly count: number; readonly checksum: string };
  readonly samples: { readonly count: number; readonly bytes: number; readonly checksum: string };
  readonly events: { readonly count: number; readonly checksum: string };
}

/** What a purge removed. */
export interface PurgeResult {
  readonly installations: number;
  readonly submissions: number;
  /** Samples deleted: those no installation remaining at the site referenced. */
  readonly samples: number;
  readonly bytes: number;
  readonly events: number;
}

/** What a site holds, per installation and per sample, for the residency audit. */
export interface SiteResidencyScan {
  readonly site: string;
  /** Installations with any record here: key, submissions or events. */
  readonly installations: readonly {
    readonly id: string;
    readonly key: boolean;
    readonly submissions: number;
    readonly events: number;
  }[];
  readonly samples: SampleScan;
}

export function inventoryOf(records: RelocatableRecords, key: boolean): InstallationInventory {
  return {
    installationId: records.installationId,
    key,
    submissions: {
      count: records.submissions.length,
      checksum: checksumOf(
        records.submissions.map((s) => JSON.stringify([s.sha256, s.submittedAt, s.product, s.filename])),
      ),
    },
    samples: {
      count: records.samples.length,
      bytes: records.samples.reduce((sum, s) => sum + s.size, 0),
      checksum: checksumOf(records.samples.map((s) => s.sha256)),
    },
    events: { count: records.events.length, checksum: checksumOf(records.events) },
  };
}

/** SHA-256 over the sorted lines: equal for equal multisets, whatever the storage order. */
function checksumOf(lines: readonly string[]): string {
  const hash = createHash('sha256');
  for (const line of [...lines].sort()) hash.update(line).update('\0');
  return hash.digest('hex');
}
