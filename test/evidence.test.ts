import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobReader, TextWriter, ZipReader } from '@zip.js/zip.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashLeaf, verifyInclusion } from '../src/ledger/merkle/index.js';
import { openCheckpoint, parseVerifierKey } from '../src/ledger/note/index.js';
import { nodeSigner } from '../src/ledger/open-node-log.js';
import { sha256OfFile } from '../src/operations/backup/backup-manifest.js';
import { makeBackup, restoreBackup } from '../src/operations/backup/index.js';
import { rotateMasterKey } from '../src/operations/keys/key-rotation.js';
import { runCliAsync } from './support/cli.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { registerInstallation } from './support/installations.js';

/**
 * The evidence pack (docs/operations.md, "Evidence pack"): a scenario of March 2026 on a
 * pinned clock (tokens issued and revoked, a legal request through four eyes, a privacy
 * request, a master-key rotation, a backup), then the pack of that month from the route and
 * from the CLI, read as an auditor would: the rows, and the proofs checked against the
 * signed checkpoints with nothing but RFC 9162.
 */
let instant = Date.parse('2026-03-02T08:00:00.000Z');
/** Every reading moves the clock a second on: events keep their order. */
const clock = () => {
  instant += 1000;
  return new Date(instant);
};

let h: Harness;
let scratch: string;
let auditor: string;
const ids: Record<string, string> = {};
let legalRequest: string;
let privacyRequest: string;
let backupSha256: string;

interface SectionFile {
  readonly id: string;
  readonly controls: readonly { id: string; title: string }[];
  readonly rows: readonly Record<string, unknown>[];
  readonly entries: readonly {
    node: string;
    index: number;
    treeSize: number;
    entryText: string;
    entry: Record<string, unknown>;
    leafHash: string;
    proof: string[];
  }[];
}

async function createToken(
  role: 'legal' | 'privacy' | 'auditor' | 'analyst' | 'admin',
  person: string,
  label = '',
) {
  const created = await h.glasshouse.tokens.create({ role, person, label }, { role: 'admin', token: 'test' });
  return created;
}

/** Waits until every node's checkpoint covers its whole log: the pack proves entries at it. */
async function published(): Promise<void> {
  for (const log of h.glasshouse.logs.values()) {
    await log.publish();
    expect(await log.publishedSize()).toBe(await log.size());
  }
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'glasshouse-evidence-'));
  h = await startHarness({
    now: clock,
    // A rotation runs on a stopped site: before the server opens the data directory.
    prepare: async (config) => {
      await rotateMasterKey(config, { site: 'zurich', actor: { role: 'admin', token: 'cli' }, now: clock });
    },
  });
  const admin = await createToken('admin', 'Ada Admin');
  ids.admin = admin.id;
  const auditorToken = await createToken('auditor', 'Iris Auditor');
  auditor = auditorToken.token;
  ids.auditor = auditorToken.id;
  const legalA = await createToken('legal', 'Alice Legal');
  const legalB = await createToken('legal', 'Bob Legal');
  ids.legalA = legalA.id;
  ids.legalB = legalB.id;
  const privacy = await createToken('privacy', 'Pia Privacy');
  const leaver = await createToken('analyst', 'Len Leaver', '<b>night shift</b>');
  ids.leaver = leaver.id;
  await h.glasshouse.tokens.revoke(leaver.id, { role: 'admin', token: admin.id });

  const created = await h.app.inject({
    method: 'POST',
    url: '/v1/legal-requests',
    headers: bearer(legalA.token),
    payload: {
      receivedAt: '2026-03-02',
      requesterCountry: 'DE',
      authorityKind: 'law_enforcement',
      authority: 'BKA',
      legalBasis: 'StPO',
      reference: 'AZ 1',
      category: 'technical_expertise',
      scope: { installations: [], hashes: [], threats: [] },
    },
  });
  expect(created.statusCode, created.body).toBe(201);
  legalRequest = created.json().id;
  const act = async (token: string, body: Record<string, unknown>) => {
    const response = await h.app.inject({
      method: 'POST',
      url: `/v1/legal-requests/${legalRequest}/actions`,
      headers: bearer(token),
      payload: body,
    });
    expect(response.statusCode, response.body).toBe(200);
  };
  await act(legalA.token, { action: 'start_verification' });
  await act(legalA.token, { action: 'propose_verification', valid: true, jurisdictions: ['CH'], note: 'ok' });
  await act(legalB.token, { action: 'confirm_verification' });

  const product = await h.token('product');
  const user = await registerInstallation(h.app, product, 'CH');
  const filed = await h.app.inject({
    method: 'POST',
    url: '/v1/privacy-requests',
    headers: bearer(privacy.token),
    payload: { type: 'inventory', installation: user.id, verificationNote: 'called back' },
  });
  expect(filed.statusCode, filed.body).toBe(202);
  privacyRequest = filed.json().id;
  await h.glasshouse.privacyWorker.idle();

  const out = join(scratch, 'backup');
  await makeBackup({ config: h.glasshouse.config, out, now: clock });
  backupSha256 = await sha256OfFile(join(out, 'manifest.json'));
  // A restore test into a scratch directory, recorded on the deployment's own log.
  const tested = await restoreBackup({
    from: out,
    dataDir: join(scratch, 'restore-test'),
    testOf: h.dataDir,
    now: clock,
  });
  expect(tested.keysMissing).toBe(true);

  // April: outside the pack of March.
  instant = Date.parse('2026-04-02T08:00:00.000Z');
  ids.april = (await createToken('analyst', 'April Analyst')).id;
  await published();
}, 300_000);

afterAll(async () => {
  await h?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** The files of a pack, by path, from the route's zip. */
async function unzip(body: Buffer): Promise<Map<string, string>> {
  const reader = new ZipReader(new BlobReader(new Blob([body])));
  const files = new Map<string, string>();
  for (const entry of await reader.getEntries()) {
    if (entry.directory || entry.getData === undefined) continue;
    files.set(entry.filename, await entry.getData(new TextWriter()));
  }
  await reader.close();
  return files;
}

/** The files of a pack folder, by path. */
function readFolder(dir: string, prefix = ''): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) for (const [p, c] of readFolder(dir, path)) files.set(p, c);
    else files.set(path, readFileSync(join(dir, path), 'utf8'));
  }
  return files;
}

/** What an auditor checks in a pack, whichever way it came. */
function checkPack(files: Map<string, string>): void {
  const section = (id: string) => JSON.parse(files.get(`${id}.json`)!) as SectionFile;
  const index = JSON.parse(files.get('evidence.json')!);
  expect(index.period).toEqual({ from: '2026-03-01', to: '2026-03-31' });
  expect(index.sections.map((s: { id: string }) => s.id)).toEqual([
    'access-review',
    'keys',
    'backups',
    'log-checkpoints',
    'legal-requests',
    'privacy-requests',
    'residency',
  ]);

  const access = section('access-review');
  expect(access.controls.map((c) => c.id)).toEqual(['A.5.15', 'A.5.18']);
  const tokenRow = (id: string) => access.rows.find((r) => r.token === id);
  expect(tokenRow(ids.legalA!)).toMatchObject({ person: 'Alice Legal', role: 'legal', sites: '*' });
  expect(tokenRow(ids.leaver!)).toMatchObject({ person: 'Len Leaver', active_at_period_end: false });
  expect(tokenRow(ids.leaver!)?.revoked).toMatch(/^2026-03-02T/);
  expect(tokenRow(ids.april!)).toBeUndefined();
  const tokenEntries = access.entries.map((e) => [e.entry.type, e.entry.tokenId]);
  expect(tokenEntries).toContainEqual(['token.created', ids.legalB]);
  expect(tokenEntries).toContainEqual(['token.revoked', ids.leaver]);
  expect(tokenEntries).not.toContainEqual(['token.created', ids.april]);
  expect(files.get('access-review.csv')).toContain('Len Leaver');

  const keys = section('keys');
  expect(keys.controls.map((c) => c.id)).toEqual(['A.8.24']);
  const zurichKey = keys.rows.find((r) => r.kind === 'site-master' && r.node === 'zurich');
  expect(zurichKey?.last_rotation).toMatch(/^2026-03-02T/);
  expect(keys.entries.map((e) => [e.node, e.entry.type])).toEqual([
    ['zurich', 'master-key.rotation.started'],
    ['zurich', 'master-key.rotation.finished'],
  ]);
  expect(JSON.stringify(keys)).not.toMatch(/BEGIN PRIVATE KEY/);

  const backups = section('backups');
  expect(backups.controls.map((c) => c.id)).toEqual(['A.8.13']);
  expect(backups.rows).toEqual([
    expect.objectContaining({ event: 'backup.made', node: 'control', backup: backupSha256, keys: 'absent' }),
    expect.objectContaining({ event: 'backup.restored', node: 'control', backup: backupSha256 }),
  ]);
  expect(backups.rows[1]?.detail).toContain('target test');

  const checkpoints = section('log-checkpoints');
  expect(checkpoints.rows.map((r) => r.node).sort()).toEqual(['control', 'moscow', 'zurich']);
  for (const row of checkpoints.rows) {
    expect(row).toMatchObject({ signature: 'verified', entries_match_root: true });
  }

  const legal = section('legal-requests');
  expect(legal.controls.map((c) => c.id)).toEqual(['A.5.31', 'A.5.3']);
  expect(legal.rows).toEqual([
    expect.objectContaining({
      request: legalRequest,
      state: 'verified',
      proposed_by: ids.legalA,
      confirmed_by: ids.legalB,
      four_eyes: true,
      jurisdictions: 'CH',
    }),
  ]);
  expect(JSON.stringify(legal)).not.toContain('BKA');
  expect(legal.entries.filter((e) => e.entry.request === legalRequest).map((e) => e.entry.state)).toEqual([
    'received',
    'in_verification',
    'in_verification',
    'verified',
  ]);

  const privacy = section('privacy-requests');
  expect(privacy.controls.map((c) => c.id)).toEqual(['A.5.34']);
  const row = privacy.rows.find((r) => r.request === privacyRequest);
  expect(row).toMatchObject({ type: 'inventory', state: 'completed', answered_in_time: true });
  expect(Date.parse(row?.due as string) - Date.parse(row?.received as string)).toBe(30 * 86_400_000);
  expect(privacy.entries.map((e) => e.entry.event)).toEqual(['received', 'completed']);

  const residency = section('residency');
  expect(residency.rows.map((r) => [r.site, r.clean])).toEqual([
    ['zurich', true],
    ['moscow', true],
  ]);

  // Every proof leads to the root of a checkpoint signed by its node's key.
  let proofs = 0;
  for (const s of index.sections as { id: string }[]) {
    for (const e of section(s.id).entries) {
      const key = parseVerifierKey(nodeSigner(h.glasshouse.config, e.node).verifierKey);
      const checkpoint = openCheckpoint(files.get(`checkpoints/${e.node}.checkpoint`)!, [key]);
      expect(e.treeSize).toBe(checkpoint.treeSize);
      const leaf = hashLeaf(Buffer.from(e.entryText, 'utf8'));
      expect(leaf.toString('base64')).toBe(e.leafHash);
      const proof = e.proof.map((p) => Buffer.from(p, 'base64'));
      verifyInclusion(proof, e.index, e.treeSize, leaf, checkpoint.rootHash);
      expect(() =>
        verifyInclusion(
          proof,
          e.index,
          e.treeSize,
          hashLeaf(Buffer.from(`${e.entryText} `)),
          checkpoint.rootHash,
        ),
      ).toThrow();
      proofs += 1;
    }
  }
  expect(proofs).toBeGreaterThan(10);

  const html = files.get('index.html')!;
  expect(html).toContain('A.8.13');
  expect(html).toContain('Information backup');
  expect(html).not.toMatch(/<script/i);
  expect(html).toContain('&lt;b&gt;night shift&lt;/b&gt;');
  expect(html).not.toContain('<b>night shift');
}

describe('GET /v1/evidence', () => {
  it('answers the pack of the period as a zip an auditor reads without our software', async () => {
    const response = await h.app.inject({
      url: '/v1/evidence?from=2026-03-01&to=2026-03-31',
      headers: bearer(auditor),
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toBe('application/zip');
    expect(response.headers['content-disposition']).toContain('evidence-2026-03-01-2026-03-31.zip');
    const files = await unzip(response.rawPayload);
    const folder = 'evidence-2026-03-01-2026-03-31/';
    expect([...files.keys()].every((p) => p.startsWith(folder))).toBe(true);
    checkPack(new Map([...files].map(([p, c]) => [p.slice(folder.length), c])));
  }, 60_000);

  describe('when the dates are bad', () => {
    it.each([
      ['from=2026-02-30&to=2026-03-31', 'INVALID_EVIDENCE_PERIOD'],
      ['from=2026-04-01&to=2026-03-31', 'INVALID_EVIDENCE_PERIOD'],
      ['from=March&to=2026-03-31', 'INVALID_EVIDENCE_PERIOD'],
      ['from=2020-01-01&to=2026-03-31', 'INVALID_EVIDENCE_PERIOD'],
      ['from=2026-03-01', 'VALIDATION_FAILED'],
    ])('answers 400 with a problem document (%s)', async (query, code) => {
      const response = await h.app.inject({ url: `/v1/evidence?${query}`, headers: bearer(auditor) });
      expect(response.statusCode).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json()).toMatchObject({ status: 400, code });
    });
  });
});

describe('glasshouse evidence', () => {
  it('writes the pack the server answers as a folder, and never over another', async () => {
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const address = h.app.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    const out = join(scratch, 'pack');
    const args = ['evidence', '--url', url, '--from', '2026-03-01', '--to', '2026-03-31', '--out', out];
    const run = await runCliAsync([...args, '--json'], { GLASSHOUSE_TOKEN: auditor });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).sections).toHaveLength(7);
    expect(existsSync(`${out}.partial`)).toBe(false);
    checkPack(readFolder(out));

    const again = await runCliAsync(args, { GLASSHOUSE_TOKEN: auditor });
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('EVIDENCE_OUT_EXISTS');
    const reversed = ['--from', '2026-03-31', '--to', '2026-03-01', '--out', join(scratch, 'bad')];
    const bad = await runCliAsync(['evidence', '--url', url, ...reversed], { GLASSHOUSE_TOKEN: auditor });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('INVALID_EVIDENCE_PERIOD');
    const analyst = await runCliAsync(
      ['evidence', '--url', url, ...args.slice(3, 7), '--out', join(scratch, 'no')],
      {
        GLASSHOUSE_TOKEN: await h.token('analyst'),
      },
    );
    expect(analyst.stderr).toContain('FORBIDDEN_ROLE');
    expect(existsSync(join(scratch, 'bad'))).toBe(false);
    expect(existsSync(join(scratch, 'no'))).toBe(false);
  }, 300_000);
});
