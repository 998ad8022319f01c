import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteLogJournal } from '../src/adapters/storage/sqlite/sqlite-log-journal.js';
import { loadConfig } from '../src/config/load.js';
import { openNodeLog } from '../src/ledger/open-node-log.js';
import { sha256OfFile } from '../src/operations/backup/backup-manifest.js';
import { killCliWhen, runCli, runCliAsync } from './support/cli.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { registerInstallation, submitSample } from './support/installations.js';
import { filesContaining, idNeedles } from './support/raw-scan.js';

/**
 * Backup and restore of a node (docs/operations.md): a backup taken while the node serves,
 * an erasure made after it that a restore must not undo, and the refusals that keep an
 * operator from restoring the wrong thing over the wrong directory.
 */
let h: Harness;
let dataDir: string;
let scratch: string;
let product: string;

beforeAll(async () => {
  h = await startHarness();
  dataDir = h.dataDir;
  scratch = mkdtempSync(join(tmpdir(), 'glasshouse-backup-'));
  product = await h.token('product');
});
afterAll(async () => {
  await closeServer();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

let closed = false;
async function closeServer(): Promise<void> {
  if (closed) return;
  closed = true;
  await h.app.close();
  await h.glasshouse.close();
}

async function sendEvent(installation: string, threat: string): Promise<void> {
  const response = await h.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...bearer(product), 'content-type': 'application/x-ndjson' },
    payload: JSON.stringify({ ts: new Date().toISOString(), installation, type: 'detection', threat }),
  });
  expect(response.json().accepted, response.body).toBe(1);
}

function controlEntries(directory: string): Promise<Record<string, unknown>[]> {
  const journal = new SqliteLogJournal(join(directory, 'control', 'log', 'journal.db'));
  return journal
    .size()
    .then((size) => journal.readEntries(0, size))
    .then((entries) => entries.map((e) => JSON.parse(e.toString('utf8')) as Record<string, unknown>))
    .finally(() => journal.close());
}

describe('glasshouse backup and restore', () => {
  describe('when an installation is erased after the backup', () => {
    it('restores everything else, erases it again before the node serves, and logs the rollback', async () => {
      const user = await registerInstallation(h.app, product, 'DE');
      const neighbour = await registerInstallation(h.app, product, 'DE');
      const names = ['ana-private-2026.exe', 'neighbour-tool.exe'];
      const own = randomBytes(4096);
      expect((await submitSample(h.app, product, user.id, names[0]!, own)).statusCode).toBeLessThan(300);
      const theirs = randomBytes(2048);
      expect((await submitSample(h.app, product, neighbour.id, names[1]!, theirs)).statusCode).toBeLessThan(
        300,
      );
      await sendEvent(user.id, 'Trojan.Erased');
      await sendEvent(neighbour.id, 'Trojan.Kept');

      // The server holds the statistics; the backup (another process) asks it for a copy.
      const out = join(scratch, 'before-erasure');
      const backup = await runCliAsync(['backup', '--data', dataDir, '--out', out, '--json']);
      expect(backup.status, backup.stderr).toBe(0);
      const made = JSON.parse(backup.stdout);
      expect(made.keys).toBe('absent');
      expect(existsSync(join(out, 'keys.sealed'))).toBe(false);
      // Keys stay out of a backup unless asked for: no master key's bytes are in it.
      const zurichKey = readFileSync(join(dataDir, 'keys', 'zurich.master.key'));
      expect(filesContaining(out, { 'zurich master key': zurichKey })).toEqual([]);
      // The backup holds the user: the later scan of the restored node proves something.
      expect(filesContaining(out, idNeedles('user', user.id)).length).toBeGreaterThan(0);

      const erasure = await h.app.inject({
        method: 'POST',
        url: '/v1/privacy-requests',
        headers: { authorization: `Installation ${user.id}:${user.secret}` },
        payload: { type: 'erasure' },
      });
      expect(erasure.statusCode, erasure.body).toBe(202);
      await h.glasshouse.privacyWorker.idle();
      const controlSizeAfterErasure = (await controlEntries(dataDir)).length;

      const running = runCli(['restore', '--from', out, '--data', dataDir, '--replace', '--allow-rollback']);
      expect(running.stderr).toContain('RESTORE_TARGET_IN_USE');
      await closeServer();

      const untold = runCli(['restore', '--from', out, '--data', dataDir]);
      expect(untold.status).toBe(1);
      expect(untold.stderr).toContain('RESTORE_TARGET_NOT_EMPTY');
      const rollback = runCli(['restore', '--from', out, '--data', dataDir, '--replace']);
      expect(rollback.status).toBe(1);
      expect(rollback.stderr).toContain('RESTORE_ROLLBACK_REFUSED');

      const restored = runCli([
        ...['restore', '--from', out, '--data', dataDir, '--replace', '--allow-rollback', '--json'],
      ]);
      expect(restored.status, restored.stderr).toBe(0);
      const result = JSON.parse(restored.stdout);
      expect(result.erasuresReapplied).toBe(1);
      expect(result.nodes.control).toMatchObject({ log: 'target', rolledBackFrom: controlSizeAfterErasure });

      // No raw file of the restored node holds the erased installation, its file name or its events.
      expect(
        filesContaining(dataDir, {
          ...idNeedles('installation id', user.id),
          [`file name ${names[0]}`]: Buffer.from(names[0]!, 'utf8'),
          'its threat name': Buffer.from('Trojan.Erased', 'utf8'),
        }),
      ).toEqual([]);
      // The scan finds what is there: the neighbour came back whole.
      expect(filesContaining(dataDir, idNeedles('neighbour', neighbour.id)).length).toBeGreaterThan(0);

      // The log was kept (append-only) and says what happened.
      const entries = await controlEntries(dataDir);
      expect(entries.length).toBe(controlSizeAfterErasure + 2);
      expect(entries.at(-2)).toMatchObject({
        type: 'log.rollback',
        node: 'control',
        restoredTo: made.nodes.control.size,
        logSize: controlSizeAfterErasure,
        logKept: true,
        erasuresReapplied: 1,
      });
      // The backup and the restore are on the record, for the evidence pack (A.8.13).
      const manifestSha256 = await sha256OfFile(join(out, 'manifest.json'));
      expect(entries.at(-1)).toMatchObject({
        type: 'backup.restored',
        node: 'control',
        backup: manifestSha256,
        restoredTo: made.nodes.control.size,
        target: 'replaced',
        erasuresReapplied: 1,
      });
      expect(entries.find((e) => e.type === 'backup.made')).toMatchObject({
        backup: manifestSha256,
        nodes: { control: { size: made.nodes.control.size } },
        keys: 'absent',
      });
    }, 300_000);
  });

  describe('when a backup is not whole', () => {
    it('refuses a backup killed midway, and one whose files were altered', async () => {
      const out = join(scratch, 'killed');
      // The statistics are idle (the server is closed): the backup copies them itself.
      const killed = await killCliWhen(['backup', '--data', dataDir, '--out', out], () =>
        existsSync(join(`${out}.partial`, 'control', 'control.db')),
      );
      expect(killed).toBe(true);
      expect(existsSync(out)).toBe(false);
      const partial = runCli(['restore', '--from', `${out}.partial`, '--data', join(scratch, 'fresh-a')]);
      expect(partial.status).toBe(1);
      expect(partial.stderr).toContain('BACKUP_INVALID');
      expect(existsSync(join(scratch, 'fresh-a'))).toBe(false);

      const whole = join(scratch, 'whole');
      expect(runCli(['backup', '--data', dataDir, '--out', whole]).status).toBe(0);
      writeFileSync(
        join(whole, 'config.yaml'),
        `${readFileSync(join(whole, 'config.yaml'), 'utf8')}# edited\n`,
      );
      const altered = runCli(['restore', '--from', whole, '--data', join(scratch, 'fresh-b')]);
      expect(altered.stderr).toContain('BACKUP_INVALID');
    }, 180_000);
  });

  describe('when one node is backed up (--node)', () => {
    it('copies that node alone, and refuses a node the data directory does not have', async () => {
      const out = join(scratch, 'zurich-only');
      // Not blocking: while the server runs, it is the one that copies the statistics.
      const made = await runCliAsync(['backup', '--data', dataDir, '--node', 'zurich', '--out', out]);
      expect(made.status, made.stderr).toBe(0);
      const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
        nodes: Record<string, unknown>;
        files: { path: string }[];
      };
      expect(Object.keys(manifest.nodes)).toEqual(['zurich']);
      const paths = manifest.files.map((file) => file.path);
      expect(paths).toContain('sites/zurich/site.db');
      expect(paths).toContain('sites/zurich/log/journal.db');
      expect(paths.filter((path) => path !== 'config.yaml' && !path.startsWith('sites/zurich/'))).toEqual([]);
      expect(existsSync(join(out, 'control'))).toBe(false);

      const nowhere = join(scratch, 'nowhere');
      const refused = await runCliAsync([
        'backup',
        '--data',
        dataDir,
        '--node',
        'atlantis',
        '--out',
        nowhere,
      ]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('no node atlantis here');
      expect(existsSync(nowhere) || existsSync(`${nowhere}.partial`)).toBe(false);
    }, 180_000);
  });

  describe('when a restore into a fresh directory is killed midway', () => {
    it('leaves no data directory, makes `up` refuse to start there, and completes when run again', async () => {
      const backup = join(scratch, 'before-erasure');
      const fresh = join(scratch, 'fresh-killed');
      const killed = await killCliWhen(['restore', '--from', backup, '--data', fresh], () =>
        existsSync(join(`${fresh}.restoring`, 'control')),
      );
      expect(killed).toBe(true);
      expect(existsSync(fresh)).toBe(false);

      // `up` would otherwise create an empty deployment where the operator expects the backup.
      const up = runCli(['up', '--data', fresh, '--host', '127.0.0.1', '--port', '0']);
      expect(up.status).toBe(1);
      expect(up.stderr).toContain('RESTORE_INTERRUPTED');
      expect(existsSync(fresh)).toBe(false);

      const again = runCli(['restore', '--from', backup, '--data', fresh, '--json']);
      expect(again.status, again.stderr).toBe(0);
      expect(existsSync(`${fresh}.restoring`)).toBe(false);
      // Whole: every file of the backup is there as it was (no keys in it, so none on the log).
      const manifest = JSON.parse(readFileSync(join(backup, 'manifest.json'), 'utf8')) as {
        files: { path: string; sha256: string }[];
      };
      for (const file of manifest.files) {
        expect(await sha256OfFile(join(fresh, file.path)), file.path).toBe(file.sha256);
      }
    }, 180_000);
  });

  describe('when a fresh directory is restored, against the checkpoint the node published', () => {
    it('refuses a backup older than the checkpoint, accepts one that contains it, and refuses a checkpoint not of this node', async () => {
      // The server is stopped: a publication now covers the whole control log, entries
      // appended after the first backup included.
      const config = loadConfig({ dataDir, logLevel: 'silent' });
      const log = await openNodeLog(config, 'control', join(dataDir, 'control'), {
        tiles: config.storage.tiles,
        publish: true,
      });
      const published = (await log.checkpoint())!;
      const publishedSize = await log.publishedSize();
      await log.close();
      const checkpointFile = join(scratch, 'control.checkpoint');
      writeFileSync(checkpointFile, published);

      const old = join(scratch, 'before-erasure');
      const oldSize = JSON.parse(readFileSync(join(old, 'manifest.json'), 'utf8')).nodes.control.size;
      expect(oldSize).toBeLessThan(publishedSize);
      const fresh = join(scratch, 'fresh-c');
      const refused = runCli(['restore', '--from', old, '--data', fresh, '--checkpoint', checkpointFile]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('RESTORE_ROLLBACK_REFUSED');
      expect(existsSync(fresh)).toBe(false);

      const newer = join(scratch, 'after-publication');
      expect(runCli(['backup', '--data', dataDir, '--out', newer]).status).toBe(0);
      const accepted = runCli([
        'restore',
        '--from',
        newer,
        '--data',
        fresh,
        '--checkpoint',
        checkpointFile,
        '--json',
      ]);
      expect(accepted.status, accepted.stderr).toBe(0);
      expect(JSON.parse(accepted.stdout).nodes.control).not.toHaveProperty('publishedSize');

      const [origin, size, root, ...rest] = published.split('\n');
      const otherRoot = Buffer.alloc(32, 1).toString('base64');
      writeFileSync(checkpointFile, [origin, size, otherRoot, ...rest].join('\n'));
      const diverged = runCli([
        'restore',
        '--from',
        newer,
        '--data',
        join(scratch, 'fresh-d'),
        '--checkpoint',
        checkpointFile,
      ]);
      expect(diverged.stderr).toContain('RESTORE_LOG_DIVERGED');
      writeFileSync(checkpointFile, [`someone-else/control`, size, root, ...rest].join('\n'));
      const foreign = runCli([
        'restore',
        '--from',
        newer,
        '--data',
        join(scratch, 'fresh-d'),
        '--checkpoint',
        checkpointFile,
      ]);
      expect(foreign.stderr).toContain('RESTORE_CHECKPOINT_INVALID');
      expect(existsSync(join(scratch, 'fresh-d'))).toBe(false);

      // Over the node itself, after a restore killed between the two renames of its swap (the
      // node is DIR.replaced, DIR absent): the node is put back and compared with, not treated
      // as a fresh directory; the entries past the backup only record the backup, no rollback.
      renameSync(dataDir, `${dataDir}.replaced`);
      mkdirSync(`${dataDir}.restoring`);
      const over = runCli(['restore', '--from', newer, '--data', dataDir, '--replace', '--json']);
      expect(over.status, over.stderr).toBe(0);
      expect(existsSync(`${dataDir}.replaced`)).toBe(false);
      expect(existsSync(`${dataDir}.restoring`)).toBe(false);
      expect(JSON.parse(over.stdout).nodes.control).not.toHaveProperty('rolledBackFrom');
      expect((await controlEntries(dataDir)).at(-1)).toMatchObject({
        type: 'backup.restored',
        target: 'replaced',
      });
    }, 300_000);
  });
});
