import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killCliWhen, runCli, runCliAsync } from './support/cli.js';
import { createToken, killAllServers, type ServerProcess, startServer } from './support/server-process.js';

/**
 * Backups taken while `glasshouse up` (a real child process) takes uploads and events: one
 * killed midway, which the server outlives and a restore refuses; then a whole one, restored
 * into a fresh directory on another "machine": everything acknowledged before the backup
 * began is there, the residency audit is clean and every node's log verifies.
 */
const root = mkdtempSync(join(tmpdir(), 'glasshouse-backup-load-'));
const PASSPHRASE = { GLASSHOUSE_BACKUP_PASSPHRASE: 'a passphrase kept apart from the backup' };
const NODES = ['control', 'zurich', 'moscow'] as const;
// Three nodes start on a machine the load and the backup keep busy: readiness may take long.
const SERVER = { readyTimeoutMs: 120_000 };

afterAll(async () => {
  await killAllServers();
  rmSync(root, { recursive: true, force: true });
});

interface Acknowledged {
  readonly at: number;
  readonly kind: 'sample' | 'event';
  readonly sha256?: string;
}

async function post(server: ServerProcess, path: string, token: string, type: string, body: string | Buffer) {
  return fetch(`${server.baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': type },
    body,
  });
}

/** Uploads and events from a few clients until `stop()`; each acknowledgement with its time. */
function load(server: ServerProcess, product: string, installations: readonly string[]) {
  const acknowledged: Acknowledged[] = [];
  let running = true;
  const client = async (n: number) => {
    for (let i = 0; running; i++) {
      const installation = installations[(n + i) % installations.length]!;
      if (i % 2 === 0) {
        const response = await post(
          server,
          `/v1/samples?installation=${installation}&filename=file-${n}-${i}.exe`,
          product,
          'application/octet-stream',
          randomBytes(2048 + i),
        );
        if (response.status === 201 || response.status === 200) {
          acknowledged.push({
            at: Date.now(),
            kind: 'sample',
            sha256: ((await response.json()) as { sha256: string }).sha256,
          });
        }
      } else {
        const event = { ts: new Date().toISOString(), installation, type: 'detection', threat: `T.${n}` };
        const response = await post(
          server,
          '/v1/events',
          product,
          'application/x-ndjson',
          JSON.stringify(event),
        );
        if (response.status === 200 && ((await response.json()) as { accepted: number }).accepted === 1) {
          acknowledged.push({ at: Date.now(), kind: 'event' });
        }
      }
    }
  };
  const clients = Promise.all([0, 1, 2, 3].map(client));
  return {
    acknowledged,
    async stop() {
      running = false;
      await clients;
    },
  };
}

describe('a backup under load', () => {
  it('restores into a fresh directory with everything acknowledged before it, a clean audit and verified logs', async () => {
    const dataDir = join(root, 'live');
    let server = await startServer(dataDir, [], SERVER);
    const product = await createToken(dataDir, 'product');
    const installations: string[] = [];
    for (const country of ['DE', 'DE', 'RU', 'RU', 'BR']) {
      const response = await post(
        server,
        '/v1/installations',
        product,
        'application/json',
        JSON.stringify({ country, product: 'p' }),
      );
      expect(response.status).toBe(201);
      installations.push(((await response.json()) as { id: string }).id);
    }
    const traffic = load(server, product, installations);
    await new Promise((resolve) => setTimeout(resolve, 1500));

    // A backup killed (kill -9) while the server copies the statistics for it: the server keeps
    // serving, the partial copy is refused and never recorded as a backup; the next one is whole.
    const killedOut = join(root, 'killed');
    const snapshots = join(dataDir, 'sites', 'zurich', 'stats', 'snapshots');
    const killed = await killCliWhen(
      ['backup', '--data', dataDir, '--out', killedOut],
      () => existsSync(snapshots) && readdirSync(snapshots).length > 0,
    );
    expect(killed).toBe(true);
    expect(existsSync(killedOut)).toBe(false);
    expect(existsSync(join(dataDir, 'control', 'last-backup.json'))).toBe(false);
    const acknowledgedAtKill = traffic.acknowledged.length;
    for (
      let waited = 0;
      traffic.acknowledged.length < acknowledgedAtKill + 20 && waited < 60_000;
      waited += 50
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(traffic.acknowledged.length).toBeGreaterThanOrEqual(acknowledgedAtKill + 20);
    expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(200);
    const fromPartial = join(root, 'from-partial');
    const refused = await runCliAsync(['restore', '--from', `${killedOut}.partial`, '--data', fromPartial]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('BACKUP_INVALID');
    expect(existsSync(fromPartial)).toBe(false);

    const out = join(root, 'backup');
    const began = Date.now();
    const backup = await runCliAsync(
      ['backup', '--data', dataDir, '--out', out, '--with-keys', '--json'],
      PASSPHRASE,
    );
    await traffic.stop();
    expect(backup.status, backup.stderr).toBe(0);
    expect(JSON.parse(backup.stdout).keys).toBe('sealed');
    expect(existsSync(join(dataDir, 'control', 'last-backup.json'))).toBe(true);
    const before = traffic.acknowledged.filter((a) => a.at < began);
    expect(before.filter((a) => a.kind === 'sample').length).toBeGreaterThan(0);
    expect(before.filter((a) => a.kind === 'event').length).toBeGreaterThan(0);
    await server.kill();

    // A fresh directory, as on a new machine: the keys come from the sealed backup.
    const restoredDir = join(root, 'restored');
    const withoutPassphrase = runCli(['restore', '--from', out, '--data', restoredDir]);
    expect(withoutPassphrase.stderr).toContain('BACKUP_PASSPHRASE');
    expect(existsSync(restoredDir)).toBe(false);
    const restored = runCli(['restore', '--from', out, '--data', restoredDir, '--json'], PASSPHRASE);
    expect(restored.status, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ erasuresReapplied: 0, keysMissing: false });

    server = await startServer(restoredDir, [], SERVER);
    const admin = await createToken(restoredDir, 'admin');
    const analyst = await createToken(restoredDir, 'analyst');
    for (const { sha256 } of before.filter((a) => a.kind === 'sample')) {
      const sample = await fetch(`${server.baseUrl}/v1/samples/${sha256}`, {
        headers: { authorization: `Bearer ${analyst}` },
      });
      expect(sample.status, sha256).toBe(200);
    }
    const audit = await fetch(`${server.baseUrl}/v1/residency/audit`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    const report = (await audit.json()) as { clean: boolean; sites: { events: number }[] };
    expect(report.clean, JSON.stringify(report)).toBe(true);
    const events = report.sites.reduce((sum, s) => sum + s.events, 0);
    expect(events).toBeGreaterThanOrEqual(before.filter((a) => a.kind === 'event').length);
    expect(events).toBeLessThanOrEqual(traffic.acknowledged.filter((a) => a.kind === 'event').length);

    for (const node of NODES) {
      const key = runCli(['ledger', 'key', '--node', node, '--data', restoredDir]).stdout.trim();
      const verified = await runCliAsync([
        'ledger',
        'verify',
        '--url',
        server.baseUrl,
        '--node',
        node,
        '--key',
        key,
      ]);
      expect(verified.status, `${node}: ${verified.stderr}`).toBe(0);
    }
  }, 600_000);
});
