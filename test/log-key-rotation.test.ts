import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config/config.js';
import { CONTROL_NODE, initDataDir, keysDirectory } from '../src/config/data-dir.js';
import { loadConfig, resolvePaths } from '../src/config/load.js';
import { KEY_ROTATION_ENTRY, keyRotationIn, logKeyFiles, signWithAll } from '../src/ledger/log-keys.js';
import {
  canonicalJson,
  NoteError,
  noteSignerFromKey,
  openCheckpoint,
  parseVerifierKey,
} from '../src/ledger/note/index.js';
import { openNodeLog } from '../src/ledger/open-node-log.js';
import { verifyPublishedLog } from '../src/ledger/verify-published-log.js';
import { CLI_ENTRY, REPO_ROOT, runCli, runCliAsync } from './support/cli.js';
import { diskReader, publicLogDirectory, publishAll } from './support/ledger.js';

/**
 * `glasshouse ledger rotate-key`: a new key announced in the log itself, checkpoints signed by
 * both keys during the overlap and by the new one after it, verifiers given either key still
 * verifying, and a rotation killed (SIGKILL) at each durable step completed by the next run.
 */
const HOUR_MS = 3_600_000;
let dataDir: string;
let config: Config;
let oldKey: string;

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'glasshouse-log-rotation-'));
  initDataDir(resolvePaths({ dataDir }));
  config = loadConfig({ dataDir, logLevel: 'silent' });
  oldKey = runCli(['ledger', 'key', '--data', dataDir]).stdout.trim();
});

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

/** Opens the control log as the server does, publishing with the keys of the clock's moment. */
async function withLog<T>(now: number, body: (log: Awaited<ReturnType<typeof openNodeLog>>) => Promise<T>) {
  const log = await openNodeLog(config, CONTROL_NODE, join(dataDir, 'control'), {
    tiles: { engine: 'fs' },
    publish: true,
    now: () => now,
  });
  try {
    return await body(log);
  } finally {
    await log.close();
  }
}

async function appendAndPublish(now: number, count: number): Promise<string> {
  return withLog(now, async (log) => {
    for (let i = 0; i < count; i++) {
      await log.append({
        type: 'test.entry',
        time: new Date(now).toISOString(),
        actor: { role: 'admin', token: 'test' },
        i,
      });
    }
    await publishAll(log);
    return (await log.checkpoint())!;
  });
}

async function rotationEntries(): Promise<number[]> {
  return withLog(Date.now(), async (log) => {
    const entries = await log.readEntries(0, await log.size());
    return entries.flatMap((entry, index) => (entry.includes(KEY_ROTATION_ENTRY) ? [index] : []));
  });
}

/** Runs rotate-key until it reports it paused after `step`, then kills it with SIGKILL. */
async function rotateAndKillAfter(step: 'generated' | 'appended'): Promise<void> {
  const child = spawn(
    process.execPath,
    [...CLI_ENTRY, 'ledger', 'rotate-key', '--data', dataDir, '--overlap', '1h'],
    { cwd: REPO_ROOT, env: { ...process.env, GLASSHOUSE_TEST_LOG_ROTATION_PAUSE: step }, stdio: 'pipe' },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes(`paused after ${step}`)) resolve();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('exit', () => reject(new Error(`rotate-key exited before pausing:\n${output}`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

const signerNames = (checkpoint: string, key: string) => {
  try {
    return openCheckpoint(checkpoint, [parseVerifierKey(key)]).signatures.length;
  } catch (error) {
    if (error instanceof NoteError && error.code === 'UNVERIFIED_NOTE') return 0;
    throw error;
  }
};

describe('rotating a log key', () => {
  let beforeRotation: string;
  let newKey: string;
  let duringOverlap: string;
  let afterOverlap: string;
  let announcedAt: number;

  beforeAll(async () => {
    beforeRotation = await appendAndPublish(Date.now(), 3);
  }, 300_000);

  describe('when rotate-key is killed after writing the new key, then after announcing it', () => {
    it('has announced nothing after the first kill, and signs with the old key alone', async () => {
      await rotateAndKillAfter('generated');
      const files = logKeyFiles(keysDirectory(dataDir), CONTROL_NODE);
      expect(existsSync(files.next)).toBe(true);
      expect(await rotationEntries()).toEqual([]);
      expect(runCli(['ledger', 'key', '--data', dataDir]).stdout.trim()).toBe(oldKey);
    }, 60_000);

    it('has the announcement in the log after the second kill, and the next run completes it without a second one', async () => {
      await rotateAndKillAfter('appended');
      const [index] = await rotationEntries();
      expect(index).toBeDefined();
      expect(runCli(['ledger', 'key', '--data', dataDir]).stdout.trim()).toBe(oldKey);

      const result = await runCliAsync([
        'ledger',
        'rotate-key',
        '--data',
        dataDir,
        '--overlap',
        '1h',
        '--json',
      ]);
      expect(result.status, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout);
      expect(report).toMatchObject({ from: oldKey, announcedAt: index, resumed: true });
      expect(await rotationEntries()).toEqual([index]);
      newKey = report.to;
      announcedAt = report.announcedAt;
      expect(newKey).not.toBe(oldKey);
      expect(parseVerifierKey(newKey).name).toBe(parseVerifierKey(oldKey).name);
    }, 120_000);
  });

  describe('ledger key during the overlap', () => {
    it('prints both keys, the new one last', async () => {
      const result = runCli(['ledger', 'key', '--data', dataDir, '--json']);
      expect(JSON.parse(result.stdout)).toMatchObject({
        key: newKey,
        keys: [oldKey, newKey],
        rotation: { from: oldKey, to: newKey, announcedAt },
      });
    });
  });

  describe('when rotate-key runs again before the overlap ended', () => {
    it('refuses, naming when the overlap ends, and changes nothing', async () => {
      const result = await runCliAsync(['ledger', 'rotate-key', '--data', dataDir]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('LOG_KEY_ROTATION_UNDER_WAY');
      expect(await rotationEntries()).toEqual([announcedAt]);
    }, 60_000);
  });

  describe('checkpoints', () => {
    beforeAll(async () => {
      duringOverlap = await appendAndPublish(Date.now(), 2);
      afterOverlap = await appendAndPublish(Date.now() + 2 * HOUR_MS, 2);
    }, 300_000);

    it('are signed by both keys during the overlap', () => {
      expect(signerNames(duringOverlap, oldKey)).toBe(1);
      expect(signerNames(duringOverlap, newKey)).toBe(1);
      expect(
        openCheckpoint(duringOverlap, [parseVerifierKey(oldKey), parseVerifierKey(newKey)]).signatures,
      ).toHaveLength(2);
    });

    it('are signed by the new key alone after it', () => {
      expect(signerNames(afterOverlap, oldKey)).toBe(0);
      expect(signerNames(afterOverlap, newKey)).toBe(1);
    });
  });

  describe('a verifier', () => {
    const read = () => diskReader(publicLogDirectory(dataDir, CONTROL_NODE));

    it('given the old key follows the announcement to the new key', async () => {
      const verified = await verifyPublishedLog({
        read: read(),
        verifierKey: oldKey,
        previousCheckpoint: beforeRotation,
      });
      expect(verified.keysFollowed).toEqual([newKey]);
      expect(verified.signedBy).toEqual([newKey.split('+').slice(0, 2).join('+')]);
    });

    it('given the new key verifies too, and trusts an older checkpoint of the old key through the announcement', async () => {
      const verified = await verifyPublishedLog({
        read: read(),
        verifierKey: newKey,
        previousCheckpoint: beforeRotation,
      });
      expect(verified.keysFollowed).toEqual([oldKey]);
      expect(verified.previous?.size).toBe(3);
    });

    it('given a key of another log still fails', async () => {
      const other = noteSignerFromKey(
        generateKeyPairSync('ed25519').privateKey,
        parseVerifierKey(oldKey).name,
      );
      await expect(
        verifyPublishedLog({ read: read(), verifierKey: other.verifierKey }),
      ).rejects.toMatchObject({
        code: 'UNVERIFIED_NOTE',
      });
    });

    it('ledger verify --key OLD says which key signed and which it followed', async () => {
      const tiles = publicLogDirectory(dataDir, CONTROL_NODE);
      const server = createServer((request, response) => {
        const path = join(tiles, decodeURIComponent(request.url!.replace(/^\/log\/control\//, '')));
        response.statusCode = existsSync(path) ? 200 : 404;
        response.end(existsSync(path) ? readFileSync(path) : undefined);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const file = join(dataDir, 'before-rotation');
        writeFileSync(file, beforeRotation);
        const result = await runCliAsync([
          'ledger',
          'verify',
          '--url',
          url,
          '--key',
          oldKey,
          '--from-checkpoint',
          file,
        ]);
        expect(result.status, result.stderr).toBe(0);
        expect(result.stdout).toContain(`trusted through the log's key rotation: ${newKey}`);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    }, 60_000);
  });

  describe('an announcement not signed by the old key', () => {
    it('is not followed', () => {
      const name = parseVerifierKey(oldKey).name;
      const intruder = noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, name);
      const bystander = noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, name);
      const text = `glasshouse/log-key-rotation/v1\nfrom ${oldKey}\nto ${intruder.verifierKey}\noverlap-until 2030-01-01T00:00:00.000Z\n`;
      const entry = (signers: (typeof intruder)[]) =>
        Buffer.from(canonicalJson({ type: KEY_ROTATION_ENTRY, announcement: signWithAll(signers, text) }));
      expect(keyRotationIn(entry([intruder]))).toBeUndefined();
      expect(keyRotationIn(entry([bystander, intruder]))).toBeUndefined();
    });
  });
});
