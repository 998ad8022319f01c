import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initDataDir } from '../src/config/data-dir.js';
import { resolvePaths } from '../src/config/load.js';
import { runCli } from './support/cli.js';
import { filesContaining, idNeedles } from './support/raw-scan.js';
import { createToken, killAllServers, type ServerProcess, startServer } from './support/server-process.js';

/*
 * "Processing is a durable background job: it survives kill -9 and resumes." The real
 * `glasshouse up`, started by a test launcher that injects the fault
 * (test/support/crashing-server.ts), SIGKILLs itself in the middle of an erasure, once between destroying the installation's key and deleting its
 * submissions, and once after the receipt, before control.db is compacted; restarted without
 * it, the erasure completes from the journal and leaves no byte of the installation behind. The CLI's history import
 * runs against the same server.
 */

let dataDir: string;

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'glasshouse-privacy-crash-'));
  initDataDir(resolvePaths({ dataDir }));
});

afterAll(async () => {
  await killAllServers();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A user with a sample and an event at their site, and the needles that must vanish. */
async function populatedUser(server: ServerProcess, product: string) {
  const user = await register(server, product);
  const filename = `crash-${randomBytes(6).toString('hex')}.exe`;
  const sample = randomBytes(5000);
  const stored = await fetch(`${server.baseUrl}/v1/samples?installation=${user.id}&filename=${filename}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${product}`, 'content-type': 'application/octet-stream' },
    body: sample,
  });
  expect(stored.status).toBeLessThan(300);
  const events = await fetch(`${server.baseUrl}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${product}`, 'content-type': 'application/x-ndjson' },
    body: JSON.stringify({ ts: new Date().toISOString(), installation: user.id, type: 'detection' }),
  });
  expect(events.status).toBe(200);
  const needles = {
    ...idNeedles('installation id', user.id),
    'file name': Buffer.from(filename, 'utf8'),
    sample: sample.subarray(2000, 2064),
  };
  return { user, needles };
}

async function fileErasure(server: ServerProcess, user: { id: string; secret: string }) {
  const filed = await fetch(`${server.baseUrl}/v1/privacy-requests`, {
    method: 'POST',
    headers: { authorization: `Installation ${user.id}:${user.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'erasure' }),
  });
  expect(filed.status).toBe(202);
  return (await filed.json()) as { id: string; receiptToken: string };
}

describe('glasshouse up', () => {
  describe('when it is killed with SIGKILL in the middle of an erasure', () => {
    // After the key at the site (before its submissions go), and after the receipt
    // (the id gone from the desk's rows, control.db not yet compacted).
    const CRASHES = [
      { after: 4, done: ['plan', 'registry', 'zurich:events', 'zurich:key'] },
      {
        after: 7,
        done: ['plan', 'registry', 'zurich:events', 'zurich:key', 'zurich:submissions', 'logged', 'receipt'],
      },
    ];

    it('completes the erasure after a restart, leaving no byte of the installation', async () => {
      let server = await startServer(dataDir);
      const [product, officer] = await Promise.all([
        createToken(dataDir, 'product'),
        createToken(dataDir, 'privacy'),
      ]);
      const users = [await populatedUser(server, product), await populatedUser(server, product)];
      await server.kill();

      for (const [i, crash] of CRASHES.entries()) {
        const { user, needles } = users[i]!;
        server = await startServer(dataDir, [], { crashAfterPrivacyStep: crash.after });
        const { id, receiptToken } = await fileErasure(server, user);
        await waitForExit(server);
        expect(await readProgress(dataDir, id)).toEqual(crash.done);

        server = await startServer(dataDir);
        const receipt = await waitForCompletion(server, id, receiptToken);
        expect(receipt.state).toBe('completed');
        expect(receipt.progress).toEqual([...crash.done, ...ALL_STEPS.slice(crash.done.length)]);
        expect(receipt.answer.sites.map((s: { site: string }) => s.site)).toEqual(['zurich']);
        const again = await fetch(`${server.baseUrl}/v1/privacy-requests`, {
          method: 'POST',
          headers: {
            authorization: `Installation ${user.id}:${user.secret}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ type: 'inventory' }),
        });
        expect(again.status).toBe(401);
        expect(filesContaining(dataDir, needles)).toEqual([]);
        await server.kill();
      }

      server = await startServer(dataDir);
      const history = join(dataDir, 'history.csv');
      writeFileSync(history, 'received_at,type,outcome,closed_at\n2021-05-01,erasure,completed,2021-05-20\n');
      const imported = runCli([
        'privacy',
        'import',
        history,
        '--url',
        server.baseUrl,
        '--token',
        officer,
        '--json',
      ]);
      expect(imported.status, imported.stderr).toBe(0);
      expect(JSON.parse(imported.stdout)).toMatchObject({ loaded: 1 });
      writeFileSync(history, 'received_at,type,outcome,closed_at\n2021-05-01,erasure,pending,\n');
      const refused = runCli(['privacy', 'import', history, '--url', server.baseUrl, '--token', officer]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('line 2:');
      await server.kill();
    }, 300_000);
  });
});

const ALL_STEPS = [
  'plan',
  'registry',
  'zurich:events',
  'zurich:key',
  'zurich:submissions',
  'logged',
  'receipt',
  'compact-control',
];

async function register(server: ServerProcess, product: string) {
  const response = await fetch(`${server.baseUrl}/v1/installations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${product}`, 'content-type': 'application/json' },
    body: JSON.stringify({ country: 'DE', product: 'crash-test' }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; secret: string; site: string };
}

/** The server kills itself after the configured step; wait until it no longer answers. */
async function waitForExit(server: ServerProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const alive = await fetch(`${server.baseUrl}/healthz`, { signal: AbortSignal.timeout(500) }).then(
      () => true,
      () => false,
    );
    if (!alive) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the server did not stop itself mid-erasure\n${server.output()}`);
}

/** The journalled steps, read from control.db itself: the server is down at this point. */
async function readProgress(dir: string, request: string): Promise<string[]> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(dir, 'control', 'control.db'), { readonly: true });
  try {
    const rows = db
      .prepare('SELECT step FROM privacy_steps WHERE request_id = ? ORDER BY rowid')
      .all(request) as { step: string }[];
    return rows.map((r) => r.step);
  } finally {
    db.close();
  }
}

async function waitForCompletion(server: ServerProcess, id: string, token: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const response = await fetch(`${server.baseUrl}/v1/privacy-requests/${id}/receipt`, {
      headers: { authorization: `Receipt ${token}` },
    });
    const body = (await response.json()) as {
      state: string;
      progress: string[];
      answer: { sites: { site: string }[] };
    };
    if (body.state === 'completed' || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
