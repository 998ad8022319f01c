import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openTileStore } from '../adapters/storage/open-stores.js';
import { SqliteLogJournal } from '../adapters/storage/sqlite/sqlite-log-journal.js';
import type { Config } from '../config/config.js';
import { keysDirectory } from '../config/data-dir.js';
import type { ObjectLocation } from '../config/storage-locations.js';
import { loadNoteSigner, type NoteSigner } from './note/index.js';
import { TransparencyLog } from './transparency-log.js';

/** The origin line of a node's checkpoints, and the name of its signing key. */
export function logOrigin(config: Config, node: string): string {
  return `${config.deployment}/${node}`;
}

/** The node's signing key, from `keys/<node>.ed25519.pem` (created by `init`). */
export function nodeSigner(config: Config, node: string): NoteSigner {
  const pem = readFileSync(join(keysDirectory(config.dataDir), `${node}.ed25519.pem`), 'utf8');
  return loadNoteSigner(pem, logOrigin(config, node));
}

/**
 * Opens the log of one node (the control plane or a site): the journal in
 * `<nodeDir>/log/journal.db`, the published tiles and checkpoint where the node's `tiles`
 * storage says (`<nodeDir>/log/public/` by default).
 */
export async function openNodeLog(
  config: Config,
  node: string,
  nodeDir: string,
  options: {
    readonly tiles: ObjectLocation;
    readonly publish: boolean;
    readonly onPublishError?: (error: unknown, origin: string) => void;
  },
): Promise<TransparencyLog> {
  return TransparencyLog.open({
    origin: logOrigin(config, node),
    journal: new SqliteLogJournal(join(nodeDir, 'log', 'journal.db')),
    tiles: await openTileStore(options.tiles, nodeDir),
    signer: nodeSigner(config, node),
    checkpointIntervalMs: config.ledger.checkpointIntervalMs,
    publish: options.publish,
    onPublishError: (error) => options.onPublishError?.(error, logOrigin(config, node)),
  });
}
