import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createToken, killAllServers, startServer } from './support/server-process.js';

const dataDir = join(mkdtempSync(join(tmpdir(), 'glasshouse-shutdown-')), 'data');
afterAll(async () => {
  await killAllServers();
  rmSync(join(dataDir, '..'), { recursive: true, force: true });
});

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (!isRunning(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !isRunning(pid);
}

describe('glasshouse up', () => {
  describe('when sent SIGTERM', () => {
    it('stops within seconds, having published every log entry in a final checkpoint', async () => {
      const server = await startServer(dataDir);
      await createToken(dataDir, 'analyst');
      process.kill(server.pid, 'SIGTERM');
      expect(await waitForExit(server.pid, 10_000)).toBe(true);
      // init's admin token and the analyst token: both in the last checkpoint, published on the way out.
      const checkpoint = readFileSync(join(dataDir, 'control', 'log', 'public', 'checkpoint'), 'utf8');
      expect(checkpoint.split('\n')[1]).toBe('2');
    });
  });
});
