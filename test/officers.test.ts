import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bearer, type Harness, startHarness } from './support/harness.js';

/*
 * Officers are people: four eyes compares the people behind tokens, tokens expire (on the
 * look-up fast path too, by the service's clock), and the log names people only by
 * commitment.
 */

const ADMIN = { role: 'admin', token: 'test' };
let h: Harness;
let clock: Date;
let baseUrl: string;

beforeAll(async () => {
  clock = new Date('2026-03-01T09:00:00.000Z');
  h = await startHarness({ now: () => clock });
  baseUrl = await h.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(() => h.close());

function advance(ms: number): void {
  clock = new Date(clock.getTime() + ms);
}

async function controlEntries(): Promise<Record<string, unknown>[]> {
  const log = h.glasshouse.logs.get('control')!;
  return (await log.readEntries(0, await log.size())).map((e) => JSON.parse(e.toString('utf8')));
}

async function legalToken(person: string) {
  return h.glasshouse.tokens.create({ role: 'legal', person }, ADMIN);
}

async function newRequest(officer: Record<string, string>): Promise<string> {
  const response = await h.app.inject({
    method: 'POST',
    url: '/v1/legal-requests',
    headers: officer,
    payload: {
      receivedAt: '2026-02-20',
      requesterCountry: 'DE',
      authorityKind: 'law_enforcement',
      authority: 'Bundeskriminalamt',
      legalBasis: '§ 100a StPO',
      reference: `AZ ${randomBytes(4).toString('hex')}`,
      category: 'technical_expertise',
      scope: { installations: [], hashes: [], threats: [], from: null, to: null, text: '' },
    },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<{ id: string }>().id;
}

function act(id: string, officer: Record<string, string>, body: Record<string, unknown>) {
  return h.app.inject({
    method: 'POST',
    url: `/v1/legal-requests/${id}/actions`,
    headers: officer,
    payload: body,
  });
}

const PROPOSE = { action: 'propose_verification', valid: true, jurisdictions: ['DE'] };

describe('four eyes on a legal verification', () => {
  describe('when one person confirms their own proposal with a second legal token', () => {
    it('answers 409 FOUR_EYES_REQUIRED, changes nothing, and takes another person', async () => {
      const first = await legalToken('Ada Lovelace');
      const id = await newRequest(bearer(first.token));
      expect((await act(id, bearer(first.token), { action: 'start_verification' })).statusCode).toBe(200);
      expect((await act(id, bearer(first.token), PROPOSE)).statusCode).toBe(200);
      // Ada's token is renewed: a second legal token of hers, under her name written otherwise.
      await h.glasshouse.tokens.revoke(first.id, ADMIN);
      const second = await legalToken('ada  lovelace');
      const before = (await controlEntries()).length;
      const own = await act(id, bearer(second.token), { action: 'confirm_verification' });
      expect(own.statusCode).toBe(409);
      expect(own.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(own.json()).toMatchObject({ code: 'FOUR_EYES_REQUIRED', status: 409 });
      expect(await controlEntries()).toHaveLength(before);
      const unchanged = await h.app.inject({
        url: `/v1/legal-requests/${id}`,
        headers: bearer(second.token),
      });
      expect(unchanged.json()).toMatchObject({
        state: 'in_verification',
        verification: { confirmedBy: null },
      });

      const other = await legalToken('Grace Hopper');
      const confirmed = await act(id, bearer(other.token), { action: 'confirm_verification' });
      expect(confirmed.statusCode, confirmed.body).toBe(200);
      expect(confirmed.json().state).toBe('verified');
      const { proposedByPerson, confirmedByPerson } = confirmed.json().verification;
      expect(proposedByPerson).toMatch(/^[0-9a-f]{64}$/);
      expect(confirmedByPerson).toMatch(/^[0-9a-f]{64}$/);
      expect(confirmedByPerson).not.toBe(proposedByPerson);
    });
  });

  describe('when the token names no person (made before tokens named people)', () => {
    it('still works, but neither proposes nor confirms: 403 PERSON_REQUIRED, nothing changed', async () => {
      const legacy = await legalToken('Legacy Officer');
      // What the migration leaves for a token created before people: no person.
      const db = new Database(join(h.dataDir, 'control', 'control.db'));
      db.prepare('UPDATE tokens SET person = NULL WHERE id = ?').run(legacy.id);
      db.close();
      // Another connection's write drops the server's cache of tokens within 100 ms.
      await new Promise((resolve) => setTimeout(resolve, 150));
      const id = await newRequest(bearer(legacy.token));
      expect((await act(id, bearer(legacy.token), { action: 'start_verification' })).statusCode).toBe(200);
      const proposer = await legalToken('Hedy Lamarr');
      const before = (await controlEntries()).length;
      const proposed = await act(id, bearer(legacy.token), PROPOSE);
      expect(proposed.statusCode).toBe(403);
      expect(proposed.json().code).toBe('PERSON_REQUIRED');
      expect((await act(id, bearer(proposer.token), PROPOSE)).statusCode).toBe(200);
      const confirmed = await act(id, bearer(legacy.token), { action: 'confirm_verification' });
      expect(confirmed.statusCode).toBe(403);
      expect(confirmed.json().code).toBe('PERSON_REQUIRED');
      expect(await controlEntries()).toHaveLength(before + 1);
    });
  });
});

describe('the log', () => {
  describe('when an officer acts', () => {
    it('records the person as a commitment, never the name', async () => {
      const officer = await legalToken('Katherine Johnson');
      const id = await newRequest(bearer(officer.token));
      const entries = await controlEntries();
      const created = entries.find((e) => e.type === 'token.created' && e.tokenId === officer.id);
      const received = entries.find((e) => e.type === 'legal.request' && e.request === id);
      expect(created?.person).toMatch(/^[0-9a-f]{64}$/);
      expect(received?.actor).toEqual({ role: 'legal', token: officer.id, person: created?.person });
      expect(JSON.stringify(entries).toLowerCase()).not.toContain('katherine');
    });
  });
});

describe('an expiring token', () => {
  describe('when its expiry passes', () => {
    it('is refused with 401 TOKEN_EXPIRED, on the look-up fast path too', async () => {
      const created = await h.glasshouse.tokens.create({ role: 'product', expires: '1h' }, ADMIN);
      const lookup = () =>
        fetch(`${baseUrl}/v1/lookup/${randomBytes(32).toString('hex')}`, { headers: bearer(created.token) });
      // The first request is authenticated by Fastify (and cached); the next by the fast path.
      expect((await lookup()).status).toBe(200);
      const routeCalls = vi.spyOn(h.glasshouse.verdicts, 'lookupJson');
      try {
        expect((await lookup()).status).toBe(200);
        expect(routeCalls).not.toHaveBeenCalled();
      } finally {
        routeCalls.mockRestore();
      }
      advance(3_600_000);
      const refused = await lookup();
      expect(refused.status).toBe(401);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await refused.json()).toMatchObject({ code: 'TOKEN_EXPIRED' });
      const installations = await h.app.inject({
        method: 'POST',
        url: '/v1/installations',
        headers: bearer(created.token),
        payload: { country: 'DE', product: 'endpoint-12' },
      });
      expect(installations.statusCode).toBe(401);
      expect(installations.json().code).toBe('TOKEN_EXPIRED');
    });
  });
});

describe('an access review', () => {
  it('lists each token with its person, expiry and last use', async () => {
    const analyst = await h.glasshouse.tokens.create(
      { role: 'analyst', person: 'Mary Jackson', expires: '90d' },
      ADMIN,
    );
    const before = (await h.glasshouse.tokens.list()).find((t) => t.id === analyst.id);
    expect(before).toMatchObject({ person: 'Mary Jackson', lastUsedAt: null, state: 'active' });
    const usedAt = clock.toISOString();
    const answer = await h.app.inject({
      url: '/v1/stats/detections?groupBy=country',
      headers: bearer(analyst.token),
    });
    expect(answer.statusCode).toBe(200);
    await h.glasshouse.tokens.close();
    const after = (await h.glasshouse.tokens.list()).find((t) => t.id === analyst.id);
    expect(after).toMatchObject({
      person: 'Mary Jackson',
      expiresAt: new Date(clock.getTime() + 90 * 86_400_000).toISOString(),
      lastUsedAt: usedAt,
    });
  });
});
