import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { SsdeepHasher } from '../src/site/vault/fingerprint/ssdeep.js';
import { runCli } from './support/cli.js';
import { createToken, killAllServers, type ServerProcess, startServer } from './support/server-process.js';

/*
 * The fingerprint backfill: samples stored while fingerprints were off get their fuzzy
 * hashes and type from the next server, in the background; killed with SIGKILL half-way,
 * the server after it finishes the job, and every fingerprint is the one of the bytes.
 */

const SAMPLES = 120;
const SIZE = 256 * 1024;

let dataDir: string;
const samples = new Map<string, Buffer>();

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'glasshouse-backfill-'));
  expect(runCli(['init', '--data', dataDir, '--json']).status).toBe(0);
});

afterAll(async () => {
  await killAllServers();
  rmSync(dataDir, { recursive: true, force: true });
});

function setFingerprints(on: boolean): void {
  const file = join(dataDir, 'config.yaml');
  const document = parseDocument(readFileSync(file, 'utf8'));
  document.setIn(['samples', 'fingerprints'], on);
  writeFileSync(file, document.toString());
}

function bytesOf(i: number): Buffer {
  const blocks: Buffer[] = [];
  for (let k = 0; k * 32 < SIZE; k++) blocks.push(createHash('sha256').update(`${i}:${k}`).digest());
  // Every tenth a PDF, so the type is seen to come from the bytes.
  if (i % 10 === 0) blocks.unshift(Buffer.from('%PDF-1.7\n'));
  return Buffer.concat(blocks).subarray(0, SIZE);
}

/** Fingerprinted samples and all samples, read from the site's database beside the server. */
function census(): {
  done: number;
  all: number;
  rows: { sha256: string; ssdeep: string | null; file_type: string | null }[];
} {
  const db = new Database(join(dataDir, 'sites', 'zurich', 'site.db'), {
    readonly: true,
    fileMustExist: true,
  });
  try {
    const rows = db.prepare('SELECT sha256, ssdeep, file_type FROM samples').all() as {
      sha256: string;
      ssdeep: string | null;
      file_type: string | null;
    }[];
    return { done: rows.filter((r) => r.file_type !== null).length, all: rows.length, rows };
  } finally {
    db.close();
  }
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function ssdeepOf(bytes: Buffer): string {
  const hasher = new SsdeepHasher();
  hasher.update(bytes);
  return hasher.digest();
}

describe('the fingerprint backfill', () => {
  describe('when the server is killed with SIGKILL while it runs', () => {
    it('resumes at the next start and gives every sample the fingerprint of its bytes', async () => {
      setFingerprints(false);
      let server: ServerProcess = await startServer(dataDir);
      const product = await createToken(dataDir, 'product');
      const registered = await fetch(`${server.baseUrl}/v1/installations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${product}`, 'content-type': 'application/json' },
        body: JSON.stringify({ country: 'DE', product: 'backfill-test' }),
      });
      const installation = (await registered.json()) as { id: string; site: string };
      expect(installation.site).toBe('zurich');
      for (let i = 0; i < SAMPLES; i++) {
        const bytes = bytesOf(i);
        const response = await fetch(
          `${server.baseUrl}/v1/samples?installation=${installation.id}&filename=s.bin`,
          {
            method: 'POST',
            headers: { authorization: `Bearer ${product}`, 'content-type': 'application/octet-stream' },
            body: bytes,
          },
        );
        expect(response.status, await response.clone().text()).toBe(201);
        samples.set(((await response.json()) as { sha256: string }).sha256, bytes);
      }
      await server.kill();
      expect(census()).toMatchObject({ done: 0, all: SAMPLES });

      setFingerprints(true);
      server = await startServer(dataDir);
      await waitFor(() => census().done > 0, 'the backfill has fingerprinted a sample');
      await server.kill();
      const atKill = census().done;
      expect(atKill).toBeLessThan(SAMPLES);

      server = await startServer(dataDir);
      await waitFor(() => census().done === SAMPLES, 'every sample is fingerprinted');
      for (const row of census().rows) {
        const bytes = samples.get(row.sha256)!;
        expect(row.ssdeep, row.sha256).toBe(ssdeepOf(bytes));
        expect(row.file_type).toBe(
          bytes.subarray(0, 5).toString() === '%PDF-' ? 'application/pdf' : 'application/octet-stream',
        );
      }
      const analyst = await createToken(dataDir, 'analyst');
      const [first] = samples.keys();
      const described = await fetch(`${server.baseUrl}/v1/samples/${first}`, {
        headers: { authorization: `Bearer ${analyst}` },
      });
      expect(await described.json()).toMatchObject({ ssdeep: ssdeepOf(samples.get(first!)!) });
      await server.kill();
    }, 600_000);
  });
});
