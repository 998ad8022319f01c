import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteLogJournal } from '../../adapters/storage/sqlite/sqlite-log-journal.js';
import { hashLeaf, rootOfLeaves } from '../../ledger/merkle/hashing.js';
import { parseCheckpoint } from '../../ledger/note/index.js';

/** What a node's log holds: its size and the RFC 9162 root of every entry. */
export interface LogState {
  readonly size: number;
  /** Root hash at `size`, base64. */
  readonly root: string;
  /** The latest checkpoint the node published (signed note), if any. */
  readonly checkpoint: string | null;
}

const READ_CHUNK = 4096;

/**
 * The leaf hashes of a node's journal (`<nodeDir>/log/journal.db`): what both the backup's
 * record and the restore's check are computed from. Every entry is read, so a journal whose
 * stored hashes were altered cannot pass.
 */
export async function journalLeaves(nodeDir: string): Promise<Buffer[]> {
  const file = join(nodeDir, 'log', 'journal.db');
  if (!existsSync(file)) return [];
  const journal = new SqliteLogJournal(file);
  try {
    const size = await journal.size();
    const leaves: Buffer[] = [];
    for (let from = 0; from < size; from += READ_CHUNK) {
      for (const entry of await journal.readEntries(from, Math.min(size, from + READ_CHUNK))) {
        leaves.push(hashLeaf(entry));
      }
    }
    return leaves;
  } finally {
    await journal.close();
  }
}

export async function readLogState(nodeDir: string): Promise<LogState> {
  const leaves = await journalLeaves(nodeDir);
  return {
    size: leaves.length,
    root: rootOfLeaves(leaves).toString('base64'),
    checkpoint: publishedCheckpoint(nodeDir),
  };
}

/** The checkpoint file of the node's tiles (`<nodeDir>/log/public/checkpoint`). */
export function publishedCheckpoint(nodeDir: string): string | null {
  const file = join(nodeDir, 'log', 'public', 'checkpoint');
  return existsSync(file) ? readFileSync(file, 'utf8') : null;
}

/** The size and root a signed checkpoint names. */
export function checkpointTree(note: string): { readonly size: number; readonly root: string } {
  const parsed = parseCheckpoint(note.slice(0, note.indexOf('\n\n') + 1));
  return { size: parsed.treeSize, root: parsed.rootHash.toString('base64') };
}

/** Root of the first `size` leaves, base64. */
export function rootAt(leaves: readonly Buffer[], size: number): string {
  return rootOfLeaves(leaves.slice(0, size)).toString('base64');
}
