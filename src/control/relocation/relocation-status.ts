import type { ItemTally } from './relocation-journal.js';
import type { RelocationState, RelocationsTable } from './relocation-tables.js';

export interface Progress {
  readonly done: number;
  readonly total: number;
}

export interface RelocationStatus {
  readonly id: string;
  readonly state: RelocationState;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
  readonly policyVersion: number;
  readonly batchSize: number;
  readonly rateLimitMbps: number;
  readonly installations: Progress & { readonly skipped: number; readonly rolledBack: number };
  /** Submissions, samples and events. */
  readonly records: Progress;
  readonly bytes: Progress;
  /** Plaintext bytes per second copied by this process since the job last (re)started. */
  readonly rateBytesPerSecond: number;
  readonly etaSeconds: number | null;
  readonly errors: string[];
  /** The sites the job waits for (unavailable); empty while it works. */
  readonly waitingFor: string[];
}

/** What this process has copied of the job since it (re)started it. */
export interface CopyRate {
  readonly startedAt: number;
  readonly bytes: number;
  /** The sites the job waits for, if any. */
  readonly waitingFor?: readonly string[];
}

/** The job's status from its journal, with the copy rate if this process runs it. */
export function statusOf(
  row: RelocationsTable,
  items: readonly ItemTally[],
  running: CopyRate | undefined,
  nowMs: number,
): RelocationStatus {
  const tally = (which: readonly ItemTally[]) => ({
    records: which.reduce((s, i) => s + i.submissions + i.samples + i.events, 0),
    bytes: which.reduce((s, i) => s + i.bytes, 0),
  });
  const counted = items.filter((i) => i.step !== 'skipped' && i.step !== 'rolledback');
  const finished = tally(counted.filter((i) => i.step === 'done'));
  const total = tally(counted);
  const elapsed = running === undefined ? 0 : (nowMs - running.startedAt) / 1000;
  const rate = running === undefined || elapsed <= 0 ? 0 : running.bytes / elapsed;
  const inFlight = Math.min(running?.bytes ?? 0, total.bytes - finished.bytes);
  const remaining = total.bytes - finished.bytes - Math.max(0, inFlight);
  return {
    id: row.id,
    state: row.state,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    policyVersion: row.policy_version,
    batchSize: row.batch_size,
    rateLimitMbps: row.rate_limit_mbps,
    installations: {
      done: counted.filter((i) => i.step === 'done').length,
      total: counted.length,
      skipped: items.filter((i) => i.step === 'skipped').length,
      rolledBack: items.filter((i) => i.step === 'rolledback').length,
    },
    records: { done: finished.records, total: total.records },
    bytes: { done: finished.bytes, total: total.bytes },
    rateBytesPerSecond: Math.round(rate),
    etaSeconds: row.state !== 'running' ? null : rate > 0 ? Math.ceil(remaining / rate) : null,
    errors: JSON.parse(row.errors) as string[],
    waitingFor: [...(running?.waitingFor ?? [])],
  };
}
