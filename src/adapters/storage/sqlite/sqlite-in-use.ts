import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * Whether another process has the SQLite database open right now (a server keeps its
 * databases open as long as it runs). An exclusive lock in `locking_mode = EXCLUSIVE` is
 * refused while any other connection uses the database's WAL index, even an idle one; it is
 * taken without waiting and released at once, so the answer holds for this moment only.
 *
 * @example
 * if (openElsewhere('data/control/log/journal.db')) refuse('stop the server first');
 */
export function openElsewhere(file: string): boolean {
  if (!existsSync(file)) return false;
  const database = new Database(file, { fileMustExist: true });
  try {
    database.pragma('busy_timeout = 0');
    database.pragma('locking_mode = EXCLUSIVE');
    try {
      database.exec('BEGIN EXCLUSIVE');
      database.exec('COMMIT');
      return false;
    } catch (error) {
      if ((error as { code?: unknown }).code === 'SQLITE_BUSY') return true;
      throw error;
    }
  } finally {
    database.close();
  }
}
