import {
  decodeEntryBundle,
  entriesPath,
  hashLeaf,
  rootOfLeaves,
  TILE_WIDTH,
  verifyInclusion,
} from '../../ledger/merkle/index.js';
import { openCheckpoint, parseCheckpoint, parseVerifierKey } from '../../ledger/note/index.js';
import type { PublishedLog } from '../../ledger/published-log.js';

/** A node's checkpoint as the pack holds it, with what was checked of it. */
export interface CheckpointEvidence {
  readonly node: string;
  readonly origin: string;
  readonly size: number;
  /** Base64, as in the checkpoint. */
  readonly root: string;
  /** The signed note, verbatim (C2SP tlog-checkpoint). */
  readonly checkpoint: string;
  /** The node's verifier key (C2SP signed-note), when this node holds it. */
  readonly verifierKey: string | null;
  /** `verified` under `verifierKey`; `not_checked` where the key is held elsewhere (a remote site's operator). */
  readonly signature: 'verified' | 'not_checked';
  /** Every entry up to `size` was read and they hash (RFC 9162) to `root`. */
  readonly entriesMatchRoot: boolean;
}

/** One log entry that proves a row of the pack, with its inclusion proof at the node's checkpoint. */
export interface ProvenEntry {
  readonly node: string;
  readonly index: number;
  /** The checkpoint's tree size the proof is at. */
  readonly treeSize: number;
  /** The entry's bytes as UTF-8 (canonical JSON, RFC 8785): the leaf hash is over exactly these. */
  readonly entryText: string;
  readonly entry: Readonly<Record<string, unknown>>;
  /** `SHA-256(0x00 || entry)`, base64. */
  readonly leafHash: string;
  /** RFC 9162 §2.1.3 audit path, base64, from the leaf up. */
  readonly proof: readonly string[];
}

export interface LogEvidence {
  readonly checkpoints: readonly CheckpointEvidence[];
  readonly entries: readonly ProvenEntry[];
}

export interface LogEvidenceOptions {
  readonly logs: ReadonlyMap<string, PublishedLog>;
  /** The verifier key of a node, when this process has it. */
  readonly verifierKey: (node: string) => string | undefined;
  /** Whether an entry belongs in the pack (its node, its parsed JSON). */
  readonly select: (node: string, entry: Readonly<Record<string, unknown>>) => boolean;
}

/**
 * Reads every node's published log up to its latest checkpoint: checks the checkpoint's
 * signature where the key is here, recomputes the root from every entry bundle, keeps the
 * entries `select` wants, and proves each against that checkpoint (checked before it goes
 * into the pack). A node that has published nothing yet has no checkpoint and no entries.
 *
 * @example
 * const evidence = await collectLogEvidence({ logs, verifierKey, select: (node, e) => e.type === 'token.created' });
 */
export async function collectLogEvidence(options: LogEvidenceOptions): Promise<LogEvidence> {
  const checkpoints: CheckpointEvidence[] = [];
  const entries: ProvenEntry[] = [];
  for (const [node, log] of [...options.logs].sort(([a], [b]) => a.localeCompare(b))) {
    const note = await log.checkpoint();
    if (note === undefined) continue;
    const key = options.verifierKey(node);
    const checkpoint =
      key === undefined
        ? parseCheckpoint(note.slice(0, note.indexOf('\n\n') + 1))
        : openCheckpoint(note, [parseVerifierKey(key)]);
    const leaves: Buffer[] = [];
    const chosen: { index: number; bytes: Buffer; entry: Record<string, unknown> }[] = [];
    for (let n = 0; n * TILE_WIDTH < checkpoint.treeSize; n++) {
      const width = Math.min(TILE_WIDTH, checkpoint.treeSize - n * TILE_WIDTH);
      for (const bytes of await readBundle(log, n, width)) {
        const index = leaves.length;
        leaves.push(hashLeaf(bytes));
        const entry = parseEntry(bytes);
        if (entry !== undefined && options.select(node, entry)) chosen.push({ index, bytes, entry });
      }
    }
    const entriesMatchRoot =
      leaves.length === checkpoint.treeSize && rootOfLeaves(leaves).equals(checkpoint.rootHash);
    checkpoints.push({
      node,
      origin: checkpoint.origin,
      size: checkpoint.treeSize,
      root: checkpoint.rootHash.toString('base64'),
      checkpoint: note,
      verifierKey: key ?? null,
      signature: key === undefined ? 'not_checked' : 'verified',
      entriesMatchRoot,
    });
    for (const { index, bytes, entry } of chosen) {
      const proof = await log.proveInclusion(index, checkpoint.treeSize);
      const leafHash = leaves[index]!;
      verifyInclusion(proof, index, checkpoint.treeSize, leafHash, checkpoint.rootHash);
      entries.push({
        node,
        index,
        treeSize: checkpoint.treeSize,
        entryText: bytes.toString('utf8'),
        entry,
        leafHash: leafHash.toString('base64'),
        proof: proof.map((hash) => hash.toString('base64')),
      });
    }
  }
  return { checkpoints, entries };
}

/**
 * The entries of bundle `n` as of a tree with `width` entries in it. The log may have grown
 * since the checkpoint was read and its partial bundle been replaced by a wider one: the
 * first `width` entries of that one are the same entries.
 */
async function readBundle(log: PublishedLog, n: number, width: number): Promise<Buffer[]> {
  const exact = await log.readPublished(entriesPath(n, width));
  if (exact !== undefined) return decodeEntryBundle(exact);
  for (let wider = TILE_WIDTH; wider > width; wider--) {
    const data = await log.readPublished(entriesPath(n, wider));
    if (data !== undefined) return decodeEntryBundle(data).slice(0, width);
  }
  return [];
}

function parseEntry(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(bytes.toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
