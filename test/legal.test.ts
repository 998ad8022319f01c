import { execFile } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, randomUUID, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { Uint8ArrayReader, Uint8ArrayWriter, ZipReader } from '@zip.js/zip.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStixValidator } from '../src/control/legal/stix-validator.js';
import { parseVerifierKey } from '../src/ledger/note/index.js';
import { nodeSigner } from '../src/ledger/open-node-log.js';
import { runCliAsync } from './support/cli.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { registerInstallation, submitSample } from './support/installations.js';

/*
 * The legal desk end to end, over HTTP: requests, the state machine, four eyes, the
 * jurisdiction rule with data at two sites, both kinds of package, and the log entries the
 * transparency reports count from.
 */

let h: Harness;
let officerA: Record<string, string>;
let officerB: Record<string, string>;
let productToken: string;
let product: Record<string, string>;
let analyst: Record<string, string>;

beforeAll(async () => {
  h = await startHarness({ stats: { minGroupSize: 1 } });
  officerA = bearer(await h.token('legal'));
  officerB = bearer(await h.token('legal'));
  productToken = await h.token('product');
  product = bearer(productToken);
  analyst = bearer(await h.token('analyst'));
});
afterAll(() => h.close());

const TODAY = new Date().toISOString().slice(0, 10);
const LOG_FIELDS = [
  'actor',
  'authorityKind',
  'category',
  'closedAt',
  'details',
  'event',
  'receivedAt',
  'reason',
  'request',
  'requesterCountry',
  'state',
  'time',
  'type',
];

function newRequest(overrides: Record<string, unknown> = {}, scope: Record<string, unknown> = {}) {
  return {
    receivedAt: '2021-08-03',
    requesterCountry: 'DE',
    authorityKind: 'law_enforcement',
    authority: 'Bundeskriminalamt, Referat SO 41',
    legalBasis: '§ 100a StPO',
    reference: `AZ ${randomBytes(4).toString('hex')}`,
    category: 'technical_expertise',
    scope: { installations: [], hashes: [], threats: [], from: null, to: null, text: '', ...scope },
    dueAt: '2021-09-03',
    ...overrides,
  };
}

async function create(body: Record<string, unknown>, headers = officerA) {
  const response = await h.app.inject({ method: 'POST', url: '/v1/legal-requests', headers, payload: body });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<{ id: string; state: string }>();
}

function act(id: string, body: Record<string, unknown>, headers = officerA) {
  return h.app.inject({ method: 'POST', url: `/v1/legal-requests/${id}/actions`, headers, payload: body });
}

async function actOk(id: string, body: Record<string, unknown>, headers = officerA) {
  const response = await act(id, body, headers);
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

/** received → verified under `jurisdictions`, by two officers. */
async function verified(body: Record<string, unknown>, jurisdictions: string[]) {
  const { id } = await create(body);
  await actOk(id, { action: 'start_verification' });
  await actOk(id, { action: 'propose_verification', valid: true, jurisdictions, note: 'MLA checked' });
  await actOk(id, { action: 'confirm_verification' }, officerB);
  return id;
}

async function controlEntries(): Promise<Record<string, unknown>[]> {
  const log = h.glasshouse.logs.get('control')!;
  return (await log.readEntries(0, await log.size())).map((e) => JSON.parse(e.toString('utf8')));
}

async function legalEntriesOf(id: string) {
  return (await controlEntries()).filter((e) => e.request === id);
}

function register(country: string): Promise<{ id: string; site: string }> {
  return registerInstallation(h.app, productToken, country);
}

async function submit(
  installation: string,
  filename: string,
  body: Buffer,
): Promise<{ sha256: string; md5: string }> {
  const response = await submitSample(h.app, productToken, installation, filename, body);
  expect(response.statusCode, response.body).toBeLessThan(300);
  return response.json();
}

async function sendEvents(lines: Record<string, unknown>[]): Promise<void> {
  const response = await h.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...product, 'content-type': 'application/x-ndjson' },
    payload: lines.map((l) => JSON.stringify(l)).join('\n'),
  });
  expect(response.json().accepted, response.body).toBe(lines.length);
  for (const site of h.glasshouse.sites.values()) await site.stats?.flush();
}

async function download(id: string, password: string): Promise<Map<string, Buffer>> {
  const response = await h.app.inject({ url: `/v1/legal-requests/${id}/package`, headers: officerA });
  expect(response.statusCode, response.body).toBe(200);
  expect(response.headers['content-type']).toBe('application/zip');
  const reader = new ZipReader(new Uint8ArrayReader(response.rawPayload), { useWebWorkers: false });
  const files = new Map<string, Buffer>();
  for (const entry of await reader.getEntries()) {
    if (entry.directory) continue;
    expect(entry.encrypted).toBe(true);
    await expect(entry.getData(new Uint8ArrayWriter(), { useWebWorkers: false })).rejects.toThrow();
    files.set(
      entry.filename,
      Buffer.from(await entry.getData(new Uint8ArrayWriter(), { password, useWebWorkers: false })),
    );
  }
  return files;
}

/** The manifest's signature checks against the control node's published verifier key. */
function expectSignedManifest(files: Map<string, Buffer>) {
  const manifest = files.get('manifest.json')!;
  const signature = files.get('manifest.json.sig')!;
  const key = parseVerifierKey(nodeSigner(h.glasshouse.config, 'control').verifierKey);
  const publicKey = createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), key.publicKey]),
    format: 'der',
    type: 'spki',
  });
  expect(verify(null, manifest, publicKey, signature)).toBe(true);
  const tampered = Buffer.from(manifest);
  tampered[10] = tampered[10]! ^ 1;
  expect(verify(null, tampered, publicKey, signature)).toBe(false);
  const parsed = JSON.parse(manifest.toString('utf8'));
  for (const file of parsed.files as { name: string; sha256: string }[]) {
    expect(createHash('sha256').update(files.get(file.name)!).digest('hex')).toBe(file.sha256);
  }
  return parsed;
}

/** The check docs/legal.md tells recipients to run, with OpenSSL 3. */
async function expectOpensslVerifies(files: Map<string, Buffer>) {
  const dir = mkdtempSync(join(tmpdir(), 'glasshouse-package-'));
  try {
    for (const name of ['manifest.json', 'manifest.json.sig', 'signer.pub.pem'])
      writeFileSync(join(dir, name), files.get(name)!);
    const openssl = (args: string[]) =>
      promisify(execFile)('openssl', args, { cwd: dir, encoding: 'buffer' });
    const verified = await openssl([
      'pkeyutl',
      '-verify',
      '-pubin',
      '-inkey',
      'signer.pub.pem',
      '-rawin',
      '-in',
      'manifest.json',
      '-sigfile',
      'manifest.json.sig',
    ]);
    expect(verified.stdout.toString()).toContain('Signature Verified Successfully');
    const der = (await openssl(['pkey', '-pubin', '-in', 'signer.pub.pem', '-outform', 'DER'])).stdout;
    const published = parseVerifierKey(nodeSigner(h.glasshouse.config, 'control').verifierKey).publicKey;
    expect(der.subarray(-32).equals(published)).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('legal requests', () => {
  describe('when a request is received', () => {
    it('answers 201 in state received and logs only the published fields', async () => {
      const body = newRequest();
      const created = await create(body);
      expect(created).toMatchObject({
        state: 'received',
        reason: null,
        closedAt: null,
        category: 'technical_expertise',
      });
      const [entry, ...more] = await legalEntriesOf(created.id);
      expect(more).toEqual([]);
      expect(Object.keys(entry!).sort()).toEqual([...LOG_FIELDS].sort());
      expect(entry).toMatchObject({
        type: 'legal.request',
        event: 'received',
        receivedAt: '2021-08-03',
        requesterCountry: 'DE',
        authorityKind: 'law_enforcement',
        category: 'technical_expertise',
        state: 'received',
        reason: null,
        closedAt: null,
      });
      expect(entry!.details).toMatch(/^[0-9a-f]{64}$/);
      const text = JSON.stringify(entry);
      for (const secret of [body.authority, body.legalBasis, body.reference])
        expect(text).not.toContain(secret);
    });

    it('returns it with its history, and lists it by state, category and date', async () => {
      const { id } = await create(newRequest({ receivedAt: '2020-02-10', category: 'user_data' }));
      const got = await h.app.inject({ url: `/v1/legal-requests/${id}`, headers: officerA });
      expect(got.json()).toMatchObject({
        id,
        authority: 'Bundeskriminalamt, Referat SO 41',
        history: [{ action: 'received' }],
      });
      const listed = await h.app.inject({
        url: '/v1/legal-requests?state=received&category=user_data&from=2020-02-10&to=2020-02-11',
        headers: officerA,
      });
      expect(listed.json().requests.map((r: { id: string }) => r.id)).toEqual([id]);
      const none = await h.app.inject({
        url: '/v1/legal-requests?from=2020-02-11&to=2020-02-12',
        headers: officerA,
      });
      expect(none.json().requests).toEqual([]);
    });

    it('answers 404 for an unknown id', async () => {
      const response = await h.app.inject({ url: `/v1/legal-requests/${randomUUID()}`, headers: officerA });
      expect(response.statusCode).toBe(404);
      expect(response.json().code).toBe('LEGAL_REQUEST_NOT_FOUND');
    });
  });

  describe('when the input is bad', () => {
    const cases: [string, Record<string, unknown>][] = [
      ['an unknown country', newRequest({ requesterCountry: 'XX' })],
      ['a lower-case country', newRequest({ requesterCountry: 'de' })],
      ['a date that does not exist', newRequest({ receivedAt: '2021-02-30' })],
      ['a received date in the future', newRequest({ receivedAt: '2999-01-01', dueAt: null })],
      ['a due date before the received date', newRequest({ dueAt: '2021-08-01' })],
      ['an unknown authority kind', newRequest({ authorityKind: 'police' })],
      ['an unknown category', newRequest({ category: 'everything' })],
      ['a malformed hash', newRequest({}, { hashes: ['abc'] })],
      ['an installation that is not a UUID', newRequest({}, { installations: ['me'] })],
      ['a range that ends before it starts', newRequest({}, { from: '2021-02-01', to: '2021-01-01' })],
      ['an unknown field', { ...newRequest(), secretField: 1 }],
      ['no authority', newRequest({ authority: '' })],
    ];
    for (const [what, body] of cases) {
      it(`refuses ${what} with a 400 problem and changes nothing`, async () => {
        const before = await controlEntries();
        const listed = await h.app.inject({ url: '/v1/legal-requests', headers: officerA });
        const response = await h.app.inject({
          method: 'POST',
          url: '/v1/legal-requests',
          headers: officerA,
          payload: body,
        });
        expect(response.statusCode, response.body).toBe(400);
        expect(response.headers['content-type']).toContain('application/problem+json');
        expect(await controlEntries()).toHaveLength(before.length);
        const after = await h.app.inject({ url: '/v1/legal-requests', headers: officerA });
        expect(after.json().requests).toHaveLength(listed.json().requests.length);
      });
    }
  });

  describe('when a verification is proposed and confirmed', () => {
    it('refuses a confirmation by the officer who proposed it (four eyes), and takes another', async () => {
      const { id } = await create(newRequest());
      await actOk(id, { action: 'start_verification' });
      await actOk(id, { action: 'propose_verification', valid: true, jurisdictions: ['DE'], note: 'ok' });
      const entries = (await legalEntriesOf(id)).length;
      const same = await act(id, { action: 'confirm_verification' });
      expect(same.statusCode).toBe(409);
      expect(same.json().code).toBe('FOUR_EYES_REQUIRED');
      expect((await legalEntriesOf(id)).length).toBe(entries);
      const confirmed = await actOk(id, { action: 'confirm_verification' }, officerB);
      expect(confirmed).toMatchObject({
        state: 'verified',
        verification: { valid: true, jurisdictions: ['DE'] },
      });
      expect(confirmed.verification.proposedBy).not.toBe(confirmed.verification.confirmedBy);
      const got = (await h.app.inject({ url: `/v1/legal-requests/${id}`, headers: officerA })).json();
      expect(got.history.map((i: { action: string }) => i.action)).toEqual([
        'received',
        'start_verification',
        'propose_verification',
        'confirm_verification',
      ]);
      expect(got.officers).toHaveLength(2);
      const states = (await legalEntriesOf(id)).map((e) => [e.event, e.state]);
      expect(states).toEqual([
        ['received', 'received'],
        ['transition', 'in_verification'],
        ['transition', 'in_verification'],
        ['transition', 'verified'],
      ]);
    });

    it('rejects with legal_requirements_not_met when both officers find it invalid', async () => {
      const { id } = await create(newRequest());
      await actOk(id, { action: 'start_verification' });
      await actOk(
        id,
        { action: 'propose_verification', valid: false, note: 'no MLA treaty route' },
        officerB,
      );
      const done = await actOk(id, { action: 'confirm_verification' });
      expect(done).toMatchObject({
        state: 'rejected',
        reason: 'legal_requirements_not_met',
        closedAt: TODAY,
      });
      const last = (await legalEntriesOf(id)).at(-1);
      expect(last).toMatchObject({
        state: 'rejected',
        reason: 'legal_requirements_not_met',
        closedAt: TODAY,
      });
    });

    it('refuses a confirmation without a proposal, and a valid proposal without jurisdictions', async () => {
      const { id } = await create(newRequest());
      await actOk(id, { action: 'start_verification' });
      expect((await act(id, { action: 'confirm_verification' }, officerB)).statusCode).toBe(409);
      const bare = await act(id, { action: 'propose_verification', valid: true, jurisdictions: [] });
      expect(bare.statusCode).toBe(400);
      expect(
        (await act(id, { action: 'propose_verification', valid: true, jurisdictions: ['ZZ'] })).statusCode,
      ).toBe(400);
      expect((await act(id, { action: 'propose_verification' })).statusCode).toBe(400);
      expect((await act(id, { action: 'reject' })).statusCode).toBe(400);
    });
  });

  describe('when an action is not a transition of the machine', () => {
    it('answers 409 with a problem document and changes nothing', async () => {
      const { id } = await create(newRequest());
      for (const action of ['fulfil', 'confirm_verification', 'propose_verification']) {
        const response = await act(id, { action, valid: true, jurisdictions: ['DE'] });
        expect(response.statusCode, action).toBe(409);
        expect(response.headers['content-type']).toContain('application/problem+json');
        expect(response.json().code).toBe('INVALID_TRANSITION');
      }
      await actOk(id, { action: 'withdraw' });
      for (const action of ['withdraw', 'start_verification']) {
        expect((await act(id, { action })).statusCode).toBe(409);
      }
      expect((await legalEntriesOf(id)).map((e) => e.state)).toEqual(['received', 'withdrawn']);
    });

    it('never reaches a state the machine does not allow, whatever the sequence (property)', async () => {
      const actions = fc.constantFrom(
        { action: 'start_verification' },
        { action: 'propose_verification', valid: true, jurisdictions: ['DE'] },
        { action: 'propose_verification', valid: false },
        { action: 'confirm_verification' },
        { action: 'reject', reason: 'out_of_scope' },
        { action: 'fulfil' },
        { action: 'withdraw' },
      );
      const model = new ModelRequest();
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(actions, fc.boolean()), { maxLength: 7 }), async (steps) => {
          const { id } = await create(newRequest());
          model.reset();
          for (const [body, second] of steps) {
            const officer = second ? officerB : officerA;
            const response = await act(id, body, officer);
            const expected = model.apply(body, second);
            expect(response.statusCode, `${JSON.stringify(body)} in ${model.state}`).toBe(
              expected === undefined ? 409 : 200,
            );
            if (expected !== undefined) expect(response.json().state).toBe(expected);
          }
          const states = (await legalEntriesOf(id)).map((e) => e.state);
          expect(states.at(-1)).toBe(model.state);
        }),
        { numRuns: 25 },
      );
    });
  });

  describe('when technical expertise is fulfilled', () => {
    it('writes a package with a STIX bundle that validates against the OASIS schemas, the hashes as CSV, statistics, and no personal data', async () => {
      const installation = await register('DE');
      const filename = `C:\\Users\\anna.schmidt\\Downloads\\rechnung-${randomBytes(3).toString('hex')}.exe`;
      const threat = `Trojan.Win32.Legal${randomBytes(3).toString('hex')}`;
      const sample = await submit(installation.id, filename, randomBytes(700));
      const putVerdict = await h.app.inject({
        method: 'PUT',
        url: `/v1/verdicts/${sample.sha256}`,
        headers: analyst,
        payload: { verdict: 'malicious', threat },
      });
      expect(putVerdict.statusCode).toBe(200);
      const extra = randomBytes(16).toString('hex');
      await h.app.inject({
        method: 'PUT',
        url: `/v1/verdicts/${extra}`,
        headers: analyst,
        payload: { verdict: 'suspicious', threat },
      });
      await sendEvents([
        {
          ts: new Date().toISOString(),
          installation: installation.id,
          type: 'detection',
          verdict: 'malicious',
          threat,
          sha256: sample.sha256,
        },
      ]);

      const id = await verified(
        newRequest(
          {},
          {
            threats: [threat],
            hashes: [sample.md5],
            installations: [installation.id],
            text: 'the PC of Anna Schmidt',
          },
        ),
        ['DE'],
      );
      const done = await actOk(id, { action: 'fulfil' });
      expect(done).toMatchObject({ state: 'fulfilled', reason: null, closedAt: TODAY });
      expect(done.package.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
      const again = (await h.app.inject({ url: `/v1/legal-requests/${id}`, headers: officerA })).json();
      expect(JSON.stringify(again)).not.toContain(done.package.password);

      const files = await download(id, done.package.password);
      expect([...files.keys()].sort()).toEqual(
        [
          'hashes.csv',
          'indicators.stix.json',
          'manifest.json',
          'manifest.json.sig',
          'signer.pub.pem',
          'statistics.json',
        ].sort(),
      );
      const bundle = JSON.parse(files.get('indicators.stix.json')!.toString('utf8'));
      expect(() => loadStixValidator()(bundle)).not.toThrow();
      const patterns = bundle.objects
        .filter((o: { type: string }) => o.type === 'indicator')
        .map((o: { pattern: string }) => o.pattern);
      expect(patterns).toContain(`[file:hashes.'SHA-256' = '${sample.sha256}']`);
      expect(patterns).toContain(`[file:hashes.'MD5' = '${sample.md5}']`);
      expect(patterns).toContain(`[file:hashes.'MD5' = '${extra}']`);
      expect(bundle.objects.find((o: { type: string }) => o.type === 'malware')).toMatchObject({
        name: threat,
        is_family: true,
      });
      expect(bundle.objects.some((o: { type: string }) => o.type === 'relationship')).toBe(true);
      expect(bundle.objects.some((o: { type: string }) => o.type === 'report')).toBe(true);
      expect(files.get('hashes.csv')!.toString()).toContain(`${extra},md5,suspicious,${threat},`);
      const statistics = JSON.parse(files.get('statistics.json')!.toString());
      expect(statistics.rows).toEqual([expect.objectContaining({ threat, events: 1, installations: 1 })]);

      for (const [name, bytes] of files) {
        const text = bytes.toString('utf8');
        expect(text, name).not.toContain(installation.id);
        expect(text, name).not.toContain('anna.schmidt');
        expect(text, name).not.toContain('Anna Schmidt');
      }
      const manifest = expectSignedManifest(files);
      expect(manifest).toMatchObject({
        request: id,
        category: 'technical_expertise',
        technical: { statistics: 'included' },
      });
      await expectOpensslVerifies(files);

      const entries = await controlEntries();
      expect(entries.filter((e) => e.type === 'legal.package.downloaded' && e.request === id)).toHaveLength(
        1,
      );
      expect((await legalEntriesOf(id)).filter((e) => e.type === 'legal.request').at(-1)).toMatchObject({
        state: 'fulfilled',
        closedAt: TODAY,
      });
    });

    it('escapes a threat name that a spreadsheet would run as a formula in hashes.csv', async () => {
      const threat = `=HYPERLINK("http://evil.example/${randomBytes(4).toString('hex')}","open")`;
      const hash = randomBytes(16).toString('hex');
      const set = await h.app.inject({
        method: 'PUT',
        url: `/v1/verdicts/${hash}`,
        headers: analyst,
        payload: { verdict: 'malicious', threat },
      });
      expect(set.statusCode, set.body).toBe(200);
      const id = await verified(newRequest({}, { hashes: [hash] }), ['DE']);
      const done = await actOk(id, { action: 'fulfil' });
      const csv = (await download(id, done.package.password)).get('hashes.csv')!.toString('utf8');
      const line = csv.split('\r\n').find((l) => l.startsWith(hash));
      expect(line).toBe(`${hash},md5,malicious,"'${threat.replaceAll('"', '""')}",${set.json().firstSeen}`);
    });

    it('rejects with no_data when nothing is known about the scope', async () => {
      const id = await verified(
        newRequest({}, { hashes: [randomBytes(32).toString('hex')], threats: ['Nothing.Known'] }),
        ['DE'],
      );
      const done = await actOk(id, { action: 'fulfil' });
      expect(done).toMatchObject({ state: 'rejected', reason: 'no_data', closedAt: TODAY });
      expect(done.package).toBeNull();
      const response = await h.app.inject({ url: `/v1/legal-requests/${id}/package`, headers: officerA });
      expect(response.statusCode).toBe(404);
      expect(response.json().code).toBe('LEGAL_PACKAGE_NOT_FOUND');
    });
  });

  describe('when user data is held at two sites', () => {
    let swiss: { id: string; site: string };
    let russian: { id: string; site: string };
    let leftover: string;

    beforeAll(async () => {
      swiss = await register('DE');
      russian = await register('RU');
      expect([swiss.site, russian.site]).toEqual(['zurich', 'moscow']);
      await submit(swiss.id, 'C:\\Users\\jan\\evil-zurich.exe', randomBytes(300));
      await submit(russian.id, 'C:\\Users\\ivan\\evil-moscow.exe', randomBytes(300));
      // What a relocation left behind: the Swiss installation also has data at moscow.
      leftover = `left-behind-${randomBytes(3).toString('hex')}.dll`;
      const moscow = h.glasshouse.sites.get('moscow')!;
      await moscow.admitInstallation(swiss.id, { role: 'admin', token: 'test' });
      await moscow.storeSample({
        installationId: swiss.id,
        filename: leftover,
        product: 'endpoint-12',
        body: Readable.from([randomBytes(200)]),
      });
      const ts = new Date().toISOString();
      await sendEvents([
        { ts, installation: swiss.id, type: 'detection', verdict: 'malicious', threat: 'X' },
        { ts, installation: swiss.id, type: 'scan' },
        { ts, installation: russian.id, type: 'scan' },
      ]);
    });

    function userData() {
      return newRequest(
        { category: 'user_data', requesterCountry: 'CH', authorityKind: 'court' },
        { installations: [swiss.id, russian.id] },
      );
    }

    it('discloses only what sites in the verified jurisdictions hold, and lists the rest as withheld', async () => {
      const id = await verified(userData(), ['CH']);
      const done = await actOk(id, { action: 'fulfil' });
      expect(done).toMatchObject({ state: 'partially_fulfilled', reason: null, closedAt: TODAY });
      const files = await download(id, done.package.password);
      const manifest = expectSignedManifest(files);
      expect(manifest.disclosed).toEqual([
        expect.objectContaining({
          installation: swiss.id,
          site: 'zurich',
          jurisdiction: 'CH',
          submissions: 1,
          events: 2,
        }),
      ]);
      expect(manifest.withheld).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            installation: swiss.id,
            site: 'moscow',
            jurisdiction: 'RU',
            reason: 'jurisdiction_not_verified',
          }),
          expect.objectContaining({ installation: russian.id, site: 'moscow', jurisdiction: 'RU' }),
        ]),
      );
      expect(manifest.withheld).toHaveLength(2);
      const disclosed = JSON.parse(files.get(`user-data/zurich/${swiss.id}.json`)!.toString());
      expect(disclosed.submissions.map((s: { filename: string }) => s.filename)).toEqual([
        'C:\\Users\\jan\\evil-zurich.exe',
      ]);
      expect(disclosed.eventCounts).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'detection', events: 1 }),
          expect.objectContaining({ type: 'scan', events: 1 }),
        ]),
      );
      const everything = [...files.values()].map((b) => b.toString('utf8')).join('\n');
      expect(everything).not.toContain('evil-moscow');
      expect(everything).not.toContain(leftover);
      expect((await legalEntriesOf(id)).filter((e) => e.type === 'legal.request').at(-1)).toMatchObject({
        state: 'partially_fulfilled',
        reason: null,
      });
    });

    it('rejects with legal_requirements_not_met when no site is in the verified jurisdictions', async () => {
      const id = await verified(userData(), ['DE']);
      const done = await actOk(id, { action: 'fulfil' });
      expect(done).toMatchObject({ state: 'rejected', reason: 'legal_requirements_not_met', package: null });
      const history = (await h.app.inject({ url: `/v1/legal-requests/${id}`, headers: officerA })).json()
        .history;
      expect(history.at(-1).data.withheld).toHaveLength(3);
    });

    it('fulfils completely when every site is in the verified jurisdictions', async () => {
      const id = await verified(userData(), ['CH', 'RU']);
      const done = await actOk(id, { action: 'fulfil' });
      expect(done.state).toBe('fulfilled');
      const files = await download(id, done.package.password);
      expect(files.get(`user-data/moscow/${swiss.id}.json`)!.toString()).toContain(leftover);
      expect(files.has(`user-data/moscow/${russian.id}.json`)).toBe(true);
    });

    it('rejects with no_data when no site holds anything of the installations', async () => {
      const id = await verified(newRequest({ category: 'user_data' }, { installations: [randomUUID()] }), [
        'CH',
        'RU',
      ]);
      expect(await actOk(id, { action: 'fulfil' })).toMatchObject({ state: 'rejected', reason: 'no_data' });
    });

    it('rejects with no_data when the time range holds nothing', async () => {
      const id = await verified(
        newRequest(
          { category: 'user_data' },
          { installations: [swiss.id], from: '2019-01-01', to: '2019-02-01' },
        ),
        ['CH', 'RU'],
      );
      expect(await actOk(id, { action: 'fulfil' })).toMatchObject({ state: 'rejected', reason: 'no_data' });
    });
  });
});

const HEADER = 'received_at,requester_country,authority_kind,category,outcome,reason,closed_at';

function importCsv(csv: string, headers = officerA) {
  return h.app.inject({
    method: 'POST',
    url: '/v1/legal-requests/import',
    headers: { ...headers, 'content-type': 'text/csv' },
    payload: csv,
  });
}

async function historical(): Promise<{ id: string; receivedAt: string; state: string }[]> {
  const listed = await h.app.inject({ url: '/v1/legal-requests?limit=10000', headers: officerA });
  return listed.json().requests.filter((r: { historical: boolean }) => r.historical);
}

describe('historical requests', () => {
  describe('when a good file is imported', () => {
    it('loads every row with its original dates and logs one imported entry each', async () => {
      const csv = [
        HEADER,
        '2019-07-05,DE,law_enforcement,technical_expertise,fulfilled,,2019-07-20',
        '2019-08-11,US,government,user_data,rejected,no_data,2019-08-30',
        '2019-09-01,BR,court,user_data,partially_fulfilled,,2019-10-02',
        '2019-09-03,FR,other,technical_expertise,withdrawn,,2019-09-04',
      ].join('\r\n');
      const before = (await controlEntries()).length;
      const response = await importCsv(csv);
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toMatchObject({
        imported: 4,
        sha256: createHash('sha256').update(csv).digest('hex'),
      });
      const entries = (await controlEntries()).slice(before);
      expect(
        entries.map((e) => [
          e.event,
          e.receivedAt,
          e.requesterCountry,
          e.authorityKind,
          e.category,
          e.state,
          e.reason,
          e.closedAt,
        ]),
      ).toEqual([
        [
          'imported',
          '2019-07-05',
          'DE',
          'law_enforcement',
          'technical_expertise',
          'fulfilled',
          null,
          '2019-07-20',
        ],
        ['imported', '2019-08-11', 'US', 'government', 'user_data', 'rejected', 'no_data', '2019-08-30'],
        ['imported', '2019-09-01', 'BR', 'court', 'user_data', 'partially_fulfilled', null, '2019-10-02'],
        ['imported', '2019-09-03', 'FR', 'other', 'technical_expertise', 'withdrawn', null, '2019-09-04'],
      ]);
      for (const entry of entries) expect(Object.keys(entry).sort()).toEqual([...LOG_FIELDS].sort());
      const listed = await h.app.inject({
        url: '/v1/legal-requests?from=2019-08-01&to=2019-09-02',
        headers: officerA,
      });
      expect(
        listed
          .json()
          .requests.map((r: { receivedAt: string; state: string; historical: boolean }) => [
            r.receivedAt,
            r.state,
            r.historical,
          ]),
      ).toEqual([
        ['2019-08-11', 'rejected', true],
        ['2019-09-01', 'partially_fulfilled', true],
      ]);
      const again = await importCsv(csv);
      expect(again.statusCode).toBe(409);
      expect(again.json().code).toBe('LEGAL_HISTORY_ALREADY_IMPORTED');
      expect(await controlEntries()).toHaveLength(before + 4);
    });
  });

  describe('when a file has bad rows', () => {
    it('reports every bad row by line and loads nothing', async () => {
      const csv = [
        HEADER,
        '2018-01-02,DE,law_enforcement,technical_expertise,fulfilled,,2018-01-20',
        '2018-02-30,DE,law_enforcement,technical_expertise,fulfilled,,2018-03-01',
        '2018-03-01,XX,court,user_data,fulfilled,,2018-03-02',
        '2018-03-01,DE,police,user_data,fulfilled,,2018-03-02',
        '2018-03-01,DE,court,user_data,rejected,,2018-03-02',
        '2018-03-01,DE,court,user_data,fulfilled,no_data,2018-03-02',
        '2018-03-05,DE,court,user_data,received,,2018-03-06',
        '2018-03-05,DE,court,user_data,fulfilled,,2018-03-01',
        '2018-03-05,DE,court,user_data,fulfilled,,2999-01-01',
        '2018-03-05,DE,court',
      ].join('\n');
      const before = await historical();
      const entries = (await controlEntries()).length;
      const response = await importCsv(csv);
      expect(response.statusCode, response.body).toBe(400);
      expect(response.json().code).toBe('INVALID_LEGAL_HISTORY');
      expect(response.json().invalidLines).toBe(9);
      expect(response.json().errors.map((e: { line: number }) => e.line)).toEqual([
        3, 4, 5, 6, 7, 8, 9, 10, 11,
      ]);
      expect(await historical()).toHaveLength(before.length);
      expect(await controlEntries()).toHaveLength(entries);
    });

    it('refuses a wrong header, an empty file and a body that is not CSV', async () => {
      const wrong = await importCsv('received_at,country\n2018-01-02,DE\n');
      expect(wrong.statusCode).toBe(400);
      expect(wrong.json().errors[0]).toMatchObject({ line: 1 });
      expect((await importCsv(`${HEADER}\n`)).statusCode).toBe(400);
      const json = await h.app.inject({
        method: 'POST',
        url: '/v1/legal-requests/import',
        headers: officerA,
        payload: { a: 1 },
      });
      expect(json.statusCode).toBe(400);
    });
  });

  describe('glasshouse legal import', () => {
    const run = runCliAsync;

    it('loads a file on a server (--url, --token) or on the data directory, and lists the bad rows of a file by line', async () => {
      const scratch = mkdtempSync(join(tmpdir(), 'glasshouse-legal-'));
      try {
        const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
        const token = await h.token('legal');
        const good = join(scratch, 'good.csv');
        writeFileSync(good, `${HEADER}\n2017-05-05,CH,court,user_data,fulfilled,,2017-06-01\n`);
        const loaded = await run(['legal', 'import', good, '--url', address, '--token', token, '--json']);
        expect(loaded.status, loaded.stderr).toBe(0);
        expect(JSON.parse(loaded.stdout)).toMatchObject({ imported: 1 });
        expect((await historical()).some((r) => r.receivedAt === '2017-05-05')).toBe(true);

        const bad = join(scratch, 'bad.csv');
        writeFileSync(
          bad,
          `${HEADER}\n2017-05-06,CH,court,user_data,fulfilled,,2017-06-01\n2017-05-07,ZZ,court,user_data,fulfilled,,2017-06-01\n2017-05-08,CH,court,user_data,nope,,2017-06-01\n`,
        );
        const refused = await run(['legal', 'import', bad, '--url', address, '--token', token]);
        expect(refused.status).toBe(1);
        expect(refused.stderr).toContain('line 3: requester_country');
        expect(refused.stderr).toContain('line 4: outcome');
        expect((await historical()).some((r) => r.receivedAt === '2017-05-06')).toBe(false);

        const offline = join(scratch, 'offline.csv');
        writeFileSync(
          offline,
          `${HEADER}\n2016-04-04,AT,government,technical_expertise,rejected,out_of_scope,2016-04-05\n`,
        );
        const direct = await run(['legal', 'import', offline, '--data', h.dataDir, '--json']);
        expect(direct.status, direct.stderr).toBe(0);
        expect((await historical()).find((r) => r.receivedAt === '2016-04-04')).toMatchObject({
          state: 'rejected',
        });
        expect(
          (await controlEntries()).some((e) => e.event === 'imported' && e.receivedAt === '2016-04-04'),
        ).toBe(true);

        const analystToken = await h.token('analyst');
        const forbidden = await run(['legal', 'import', good, '--url', address, '--token', analystToken]);
        expect(forbidden.status).toBe(1);
        expect(forbidden.stderr).toContain('FORBIDDEN_ROLE');
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    });
  });
});

/** The state machine, as the property test's oracle. */
class ModelRequest {
  state = 'received';
  #proposal: { valid: boolean; second: boolean } | undefined;

  reset(): void {
    this.state = 'received';
    this.#proposal = undefined;
  }

  /** The state after the action, or `undefined` when the desk must refuse it (409). */
  apply(body: { action: string; valid?: boolean }, second: boolean): string | undefined {
    const open = ['received', 'in_verification', 'verified'].includes(this.state);
    switch (body.action) {
      case 'start_verification':
        return this.#to(this.state === 'received' ? 'in_verification' : undefined);
      case 'propose_verification':
        if (this.state !== 'in_verification') return undefined;
        this.#proposal = { valid: body.valid === true, second };
        return this.state;
      case 'confirm_verification':
        if (
          this.state !== 'in_verification' ||
          this.#proposal === undefined ||
          this.#proposal.second === second
        )
          return undefined;
        return this.#to(this.#proposal.valid ? 'verified' : 'rejected');
      case 'reject':
        return this.#to(open ? 'rejected' : undefined);
      case 'withdraw':
        return this.#to(open ? 'withdrawn' : undefined);
      case 'fulfil':
        // The scope is empty: a fulfilment finds nothing.
        return this.#to(this.state === 'verified' ? 'rejected' : undefined);
      default:
        return undefined;
    }
  }

  #to(state: string | undefined): string | undefined {
    if (state !== undefined) this.state = state;
    return state;
  }
}
