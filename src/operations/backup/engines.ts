import type { Config } from '../../config/config.js';
import { BackupError } from './backup-errors.js';

/** The tools that back up each engine of the operator's own, named in the refusal. */
const ENGINE_TOOLS = {
  postgres: 'pg_dump or pg_basebackup (with WAL archiving)',
  s3: "the bucket's versioning and replication, or rclone/aws s3 sync",
  clickhouse: "ClickHouse's BACKUP TABLE … TO Disk/S3 (or clickhouse-backup)",
} as const;

/**
 * Refuses a node whose stores are not the embedded ones: its data is not in the data
 * directory, and those engines have backups of their own that know their consistency.
 */
export function assertEmbedded(config: Config, nodes: readonly string[]): void {
  const locations = nodes.flatMap((node) => {
    if (node === 'control') return [config.storage.metadata, config.storage.tiles];
    const site = config.sites.find((s) => s.name === node);
    return site === undefined
      ? []
      : [site.storage.metadata, site.storage.tiles, site.storage.blobs, site.storage.stats];
  });
  for (const location of locations) {
    if ('url' in location) {
      throw new BackupError(
        'BACKUP_ENGINE_UNSUPPORTED',
        `${location.key} is ${location.engine}: back it up with ${ENGINE_TOOLS[location.engine]}; ` +
          'glasshouse backup copies the embedded stores only (SQLite, DuckDB, files)',
      );
    }
  }
}
