import type { HuntSitesTable, HuntState, HuntsTable } from './hunt-tables.js';

/** A hunt as the API answers it: never its rules' text, only their SHA-256. */
export interface HuntStatus {
  readonly id: string;
  readonly name: string;
  readonly state: HuntState;
  readonly rulesSha256: string;
  readonly sites: string[];
  readonly createdAt: string;
  readonly updatedAt: string;
  /** When the scan of the stored samples was through (live hunting since); null before. */
  readonly scannedAt: string | null;
  readonly finishedAt: string | null;
  readonly progress: {
    readonly samplesDone: number;
    /** What the sites held when it started, or what it has done if more arrived since. */
    readonly samplesTotal: number;
    readonly bytesDone: number;
    readonly bytesTotal: number;
    /** Samples removed or unreadable when their turn came. */
    readonly skipped: number;
    readonly matches: number;
  };
  readonly error: string | null;
  /** The sites the hunt waits for (away); it goes on with the others meanwhile. */
  readonly waitingFor: string[];
}

export function statusOf(
  row: HuntsTable,
  sites: readonly HuntSitesTable[],
  matches: number,
  waitingFor: string[],
): HuntStatus {
  const samplesDone = sites.reduce((n, s) => n + s.samples, 0);
  const bytesDone = sites.reduce((n, s) => n + s.bytes, 0);
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    rulesSha256: row.rules_sha256,
    sites: JSON.parse(row.sites) as string[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    scannedAt: row.scanned_at,
    finishedAt: row.finished_at,
    progress: {
      samplesDone,
      samplesTotal: Math.max(row.samples_total, samplesDone),
      bytesDone,
      bytesTotal: Math.max(row.bytes_total, bytesDone),
      skipped: sites.reduce((n, s) => n + s.skipped, 0),
      matches,
    },
    error: row.error,
    waitingFor,
  };
}
