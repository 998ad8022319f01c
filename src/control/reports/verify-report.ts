import { Frontier } from '../../ledger/frontier.js';
import { LedgerError } from '../../ledger/ledger-errors.js';
import { decodeEntryBundle, entriesPath, TILE_WIDTH } from '../../ledger/merkle/index.js';
import {
  type CosignerVerifier,
  openCheckpoint,
  openCosignatures,
  parseCosignerVerifierKey,
  parseVerifierKey,
} from '../../ledger/note/index.js';
import type { PublishedLogReader } from '../../ledger/verify-published-log.js';
import { checkWitnessQuorum } from '../../ledger/witness-quorum.js';
import { DeskStateFolder } from './desk-entries.js';
import { parsePeriod } from './period.js';
import { NOT_FROM_LOG } from './report.js';
import { ReportError } from './report-errors.js';
import { computeReportNumbers } from './report-numbers.js';

export interface VerifyReportOptions {
  /** Reads a file of the control-plane log as published (`tile/entries/...`). */
  readonly read: PublishedLogReader;
  /** The control log's verifier key, `name+hhhhhhhh+base64`. */
  readonly verifierKey: string;
  readonly onProgress?: (done: number, total: number) => void;
  /** Witnesses whose cosignatures of the report's checkpoint count (C2SP tlog-cosignature). */
  readonly witnesses?: readonly CosignerVerifier[];
  /** How many of `witnesses` must have cosigned; all of them by default. */
  readonly quorum?: number;
}

export interface Difference {
  /** Where, as a JSON path: `legal.byCountry[3].total`. */
  readonly path: string;
  readonly report: unknown;
  readonly log: unknown;
}

export interface ReportVerification {
  readonly period: string;
  readonly checkpoint: { readonly origin: string; readonly size: number; readonly rootHash: string };
  /** The given witnesses that cosigned the checkpoint, with when (POSIX seconds). */
  readonly cosignedBy: readonly {
    readonly name: string;
    readonly keyId: string;
    readonly timestamp: number;
  }[];
  readonly legalRequests: number;
  readonly privacyRequests: number;
  /** Numbers compared with the recomputation. */
  readonly numbersChecked: number;
  readonly differences: readonly Difference[];
  /** Members that are not in the log and so were not checked. */
  readonly skipped: readonly string[];
}

/**
 * Checks a report against the log: the checkpoint's signature and that it is the one the
 * report names, the entries up to it against its root, and every number against the same
 * computation the server ran. Throws on a bad signature or entries that do not match the
 * root; returns the differences in numbers (empty when the report is true to the log).
 *
 * @example
 * const result = await verifyReport(JSON.parse(text), { read, verifierKey });
 * if (result.differences.length > 0) process.exitCode = 1;
 */
export async function verifyReport(
  report: unknown,
  options: VerifyReportOptions,
): Promise<ReportVerification> {
  const { period, checkpoint } = reportHead(report);
  const verifier = parseVerifierKey(options.verifierKey);
  const opened = openCheckpoint(checkpoint.note, [verifier], { origin: verifier.name });
  const signed = {
    origin: opened.origin,
    size: opened.treeSize,
    rootHash: opened.rootHash.toString('base64'),
  };
  // Before the entries are read: a missing witness fails at once.
  const cosigned = checkWitnessQuorum(checkpoint.note, options.witnesses ?? [], options.quorum);
  const differences: Difference[] = [];
  for (const key of ['origin', 'size', 'rootHash'] as const) {
    if (checkpoint[key] !== signed[key])
      differences.push({ path: `checkpoint.${key}`, report: checkpoint[key], log: signed[key] });
  }
  differences.push(...namedWitnessDifferences(checkpoint.note, checkpoint.witnesses));
  const frontier = Frontier.empty();
  const folder = new DeskStateFolder();
  await readEntriesUpTo(options, opened.treeSize, (bundle) => {
    for (const entry of bundle) frontier.append(entry);
    folder.add(bundle);
  });
  if (!frontier.root().equals(opened.rootHash)) {
    throw new LedgerError(
      'LOG_INCONSISTENT',
      'the entries do not hash to the root of the report’s checkpoint',
    );
  }
  // Counted only once the entries are known to be the signed ones.
  const states = folder.states();
  const recomputed = computeReportNumbers(states, parsePeriod(period));
  const claimed = Object.fromEntries(
    Object.entries(report as Record<string, unknown>).filter(
      ([k]) => !(NOT_FROM_LOG as readonly string[]).includes(k),
    ),
  );
  const counter = { numbers: 0 };
  compareValues('', claimed, recomputed, differences, counter);
  return {
    period,
    checkpoint: signed,
    cosignedBy: cosigned.map((c) => ({
      name: c.name,
      keyId: c.keyId.toString('hex'),
      timestamp: c.timestamp,
    })),
    legalRequests: states.legal.size,
    privacyRequests: states.privacy.size,
    numbersChecked: counter.numbers,
    differences,
    skipped: [
      'residency (from the registry at the time of the report, not recomputable from the log)',
      'generatedAt',
    ],
  };
}

/**
 * Each witness the report names must have cosigned its checkpoint, at the time it says, under
 * the key it names; a witness the report names falsely is a difference like a false number.
 */
function namedWitnessDifferences(note: string, named: unknown): Difference[] {
  if (named === undefined) return [];
  if (!Array.isArray(named)) return [{ path: 'checkpoint.witnesses', report: named, log: 'a list' }];
  return named.flatMap((w: unknown, i): Difference[] => {
    const path = `checkpoint.witnesses[${i}]`;
    const { name, keyId, key, cosignedAt } = (isRecord(w) ? w : {}) as Record<string, unknown>;
    let found: { name: string; keyId: string; cosignedAt: string } | undefined;
    try {
      const cosigner = parseCosignerVerifierKey(String(key));
      const [c] = openCosignatures(note, [cosigner]);
      if (c !== undefined)
        found = {
          name: c.name,
          keyId: c.keyId.toString('hex'),
          cosignedAt: new Date(c.timestamp * 1000).toISOString(),
        };
    } catch {
      // A key that does not parse, or a cosignature that does not verify: not cosigned.
    }
    if (found === undefined)
      return [{ path, report: w, log: 'no cosignature by this key in the checkpoint' }];
    const claimed = { name, keyId, cosignedAt };
    return (['name', 'keyId', 'cosignedAt'] as const)
      .filter((k) => claimed[k] !== found[k])
      .map((k) => ({ path: `${path}.${k}`, report: claimed[k], log: found[k] }));
  });
}

function reportHead(report: unknown): {
  period: string;
  checkpoint: { origin: unknown; size: unknown; rootHash: unknown; note: string; witnesses: unknown };
} {
  if (typeof report !== 'object' || report === null) throw invalid('a report is a JSON object');
  const { period, checkpoint } = report as Record<string, unknown>;
  if (typeof period !== 'string') throw invalid('the report names no period');
  if (typeof checkpoint !== 'object' || checkpoint === null) throw invalid('the report names no checkpoint');
  const c = checkpoint as Record<string, unknown>;
  if (typeof c.note !== 'string') throw invalid('the report’s checkpoint has no signed note');
  return {
    period,
    checkpoint: {
      origin: c.origin,
      size: c.size,
      rootHash: c.rootHash,
      note: c.note,
      witnesses: c.witnesses,
    },
  };
}

/** Entry bundles up to `size`, one at a time; a partial bundle may have been completed since: use its prefix. */
async function readEntriesUpTo(
  options: VerifyReportOptions,
  size: number,
  onBundle: (entries: readonly Uint8Array[]) => void,
): Promise<void> {
  const bundles = Math.ceil(size / TILE_WIDTH);
  for (let n = 0; n < bundles; n++) {
    const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
    let data = await options.read(entriesPath(n, width));
    if (data === undefined && width < TILE_WIDTH) data = await options.read(entriesPath(n, TILE_WIDTH));
    if (data === undefined)
      throw new LedgerError('TILE_NOT_FOUND', `missing entry bundle ${entriesPath(n, width)}`);
    const bundle = decodeEntryBundle(data);
    if (bundle.length < width) {
      throw new LedgerError(
        'LOG_INCONSISTENT',
        `${entriesPath(n, width)} holds ${bundle.length} entries, not ${width}`,
      );
    }
    onBundle(bundle.slice(0, width));
    options.onProgress?.(n + 1, bundles);
  }
}

function compareValues(
  path: string,
  claimed: unknown,
  actual: unknown,
  out: Difference[],
  counter: { numbers: number },
): void {
  if (typeof actual === 'number') counter.numbers += 1;
  if (isRecord(claimed) && isRecord(actual)) {
    for (const key of new Set([...Object.keys(actual), ...Object.keys(claimed)])) {
      compareValues(path === '' ? key : `${path}.${key}`, claimed[key], actual[key], out, counter);
    }
    return;
  }
  if (Array.isArray(claimed) && Array.isArray(actual)) {
    if (claimed.length !== actual.length) {
      out.push({ path: `${path}.length`, report: claimed.length, log: actual.length });
    }
    for (let i = 0; i < Math.min(claimed.length, actual.length); i++) {
      compareValues(`${path}[${i}]`, claimed[i], actual[i], out, counter);
    }
    return;
  }
  if (claimed !== actual) out.push({ path, report: claimed, log: actual });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string): ReportError {
  return new ReportError('INVALID_REPORT', message);
}
