import { join } from 'node:path';
import { httpLogWitness } from '../adapters/http-witness/http-log-witness.js';
import { openTileStore } from '../adapters/storage/open-stores.js';
import { SqliteLogJournal } from '../adapters/storage/sqlite/sqlite-log-journal.js';
import type { Config } from '../config/config.js';
import { keysDirectory } from '../config/data-dir.js';
import type { ObjectLocation } from '../config/storage-locations.js';
import { logKeyFiles, logSigningKeys } from './log-keys.js';
import type { NoteSigner } from './note/index.js';
import { TransparencyLog } from './transparency-log.js';
import { Witnessing } from './witnessing.js';

/** The origin line of a node's checkpoints, and the name of its signing key. */
export function logOrigin(config: Config, node: string): string {
  return `${config.deployment}/${node}`;
}

/**
 * The node's signing key, from `keys/<node>.ed25519.pem` (created by `init`); during a key
 * rotation, the key that goes on signing (the new one).
 */
export function nodeSigner(config: Config, node: string, now = Date.now()): NoteSigner {
  return nodeSigningKeys(config, node, now).at(-1)!;
}

/** The keys that sign the node's checkpoints at `now`: two during a key rotation's overlap. */
export function nodeSigningKeys(config: Config, node: string, now = Date.now()): NoteSigner[] {
  return logSigningKeys(logKeyFiles(keysDirectory(config.dataDir), node), logOrigin(config, node), now);
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
    /** Told when a configured witness did not cosign a checkpoint. */
    readonly onWitnessError?: (error: unknown, origin: string) => void;
    /** Decides which keys sign during a key rotation (ms since the epoch). */
    readonly now?: () => number;
  },
): Promise<TransparencyLog> {
  return TransparencyLog.open({
    origin: logOrigin(config, node),
    journal: new SqliteLogJournal(join(nodeDir, 'log', 'journal.db')),
    tiles: await openTileStore(options.tiles, nodeDir),
    signer: nodeSigner(config, node),
    signers: () => nodeSigningKeys(config, node, (options.now ?? Date.now)()),
    checkpointIntervalMs: config.ledger.checkpointIntervalMs,
    publish: options.publish,
    onPublishError: (error) => options.onPublishError?.(error, logOrigin(config, node)),
    ...(config.ledger.witnesses.length === 0
      ? {}
      : {
          witnessing: new Witnessing({
            witnesses: config.ledger.witnesses.map(httpLogWitness),
            timeoutMs: config.ledger.witnessTimeoutMs,
            onWitnessError: (error) => options.onWitnessError?.(error, logOrigin(config, node)),
          }),
        }),
  });
}
