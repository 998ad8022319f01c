export { BackupError, type BackupErrorCode } from './backup-errors.js';
export { type BackupManifest, readVerifiedManifest } from './backup-manifest.js';
export { type BackupOptions, makeBackup } from './make-backup.js';
export {
  assertNoInterruptedRestore,
  type RestoreOptions,
  type RestoreResult,
  restoreBackup,
} from './restore-backup.js';
