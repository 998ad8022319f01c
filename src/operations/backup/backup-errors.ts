import { GlasshouseError } from '../../shared/errors.js';

/** Why a backup or a restore was refused (docs/errors.md, "Backup and restore"). */
export type BackupErrorCode =
  /** A node's store is PostgreSQL, S3 or ClickHouse: back it up with the engine's own tools. */
  | 'BACKUP_ENGINE_UNSUPPORTED'
  /** No manifest, a file missing or altered, a log that does not match its recorded checkpoint. */
  | 'BACKUP_INVALID'
  /** The target data directory holds data and `--replace` was not given. */
  | 'RESTORE_TARGET_NOT_EMPTY'
  /** `<dir>.restoring` is beside the data directory: a restore into it was killed midway; run it again. */
  | 'RESTORE_INTERRUPTED'
  /** A server is running on the target data directory. */
  | 'RESTORE_TARGET_IN_USE'
  /** The target's log already went past the backup's checkpoint, and `--allow-rollback` was not given. */
  | 'RESTORE_ROLLBACK_REFUSED'
  /** The target's log is not an extension of the backup's: not the same node, or tampered. */
  | 'RESTORE_LOG_DIVERGED'
  /** A checkpoint given to a restore is malformed, of another node or deployment, or not signed by the node's key. */
  | 'RESTORE_CHECKPOINT_INVALID'
  /** The keys are sealed and no passphrase was given, or it does not open them. */
  | 'BACKUP_PASSPHRASE';

export class BackupError extends GlasshouseError<BackupErrorCode> {}
