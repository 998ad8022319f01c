import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Cleanup = () => void | Promise<void>;

const cleanups: Cleanup[] = [];
let signalsHooked = false;

/**
 * Registers something to undo when the benchmark ends, fails or is interrupted (Ctrl-C):
 * run in reverse order by {@link runCleanups}. Returns a function that unregisters it (for
 * when the owner has already undone it).
 */
export function onCleanup(cleanup: Cleanup): () => void {
  hookSignals();
  cleanups.push(cleanup);
  return () => {
    const index = cleanups.indexOf(cleanup);
    if (index >= 0) cleanups.splice(index, 1);
  };
}

export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const cleanup = cleanups.pop()!;
    try {
      await cleanup();
    } catch (error) {
      process.stderr.write(`cleanup failed: ${String(error)}\n`);
    }
  }
}

/** A fresh directory under the OS temp dir, removed at cleanup. */
export function tempDir(prefix: string): { readonly path: string; readonly remove: () => Promise<void> } {
  const path = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const removeNow = () => rmSync(path, { recursive: true, force: true });
  const release = onCleanup(removeNow);
  return {
    path,
    remove: async () => {
      release();
      removeNow();
    },
  };
}

function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: cleaning up\n`);
      void runCleanups().finally(() => process.exit(130));
    });
  }
}
