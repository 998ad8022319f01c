import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../src/control/auth/roles.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { storesAndLogs } from './support/snapshot.js';

/*
 * The public API's tokens: a caller's own session (every role), and the admin's list,
 * creation and revocation, with the same rules and log entries as `glasshouse token`.
 */

let h: Harness;
let clock: Date;
let admin: Record<string, string>;
let adminTokenId: string;

beforeAll(async () => {
  clock = new Date('2026-03-01T09:00:00.000Z');
  h = await startHarness({ now: () => clock });
  const token = await h.token('admin');
  admin = bearer(token);
  adminTokenId = tokenIdOf(token);
});
afterAll(() => h.close());

function tokenIdOf(secret: string): string {
  return /^glh_([0-9a-f]{12})_/.exec(secret)![1]!;
}

async function controlEntries(): Promise<Record<string, unknown>[]> {
  const log = h.glasshouse.logs.get('control')!;
  return (await log.readEntries(0, await log.size())).map((e) => JSON.parse(e.toString('utf8')));
}

function expectProblem(response: LightMyRequestResponse, status: number, code: string) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers['content-type']).toContain('application/problem+json');
  expect(response.json()).toMatchObject({ status, code });
}

/** Refused with that status and code, and every store and log is as it was. */
async function expectRefusedUnchanged(request: InjectOptions, status: number, code: string) {
  const before = await storesAndLogs(h);
  const response = await h.app.inject(request);
  expectProblem(response, status, code);
  expect(await storesAndLogs(h)).toEqual(before);
  return response;
}

function create(payload: Record<string, unknown>, headers = admin) {
  return h.app.inject({ method: 'POST', url: '/v1/tokens', headers, payload });
}

function session(secret: string) {
  return h.app.inject({ url: '/v1/session', headers: bearer(secret) });
}

const ROUTES = [
  { method: 'GET', url: () => '/v1/session', admits: ROLES },
  { method: 'GET', url: () => '/v1/tokens', admits: ['admin'] },
  { method: 'POST', url: () => '/v1/tokens', admits: ['admin'], payload: { role: 'analyst' } },
  { method: 'DELETE', url: () => '/v1/tokens/ffffffffffff', admits: ['admin'] },
] as const satisfies readonly {
  method: 'GET' | 'POST' | 'DELETE';
  url: () => string;
  admits: readonly Role[];
  payload?: Record<string, unknown>;
}[];

describe('the token routes', () => {
  for (const route of ROUTES) {
    describe(`${route.method} ${route.url()}`, () => {
      const inject = (headers: Record<string, string>) =>
        h.app.inject({
          method: route.method,
          url: route.url(),
          headers,
          ...('payload' in route ? { payload: route.payload } : {}),
        });

      it('answers 401 without a token', async () => {
        expectProblem(await inject({}), 401, 'UNAUTHENTICATED');
      });

      for (const role of ROLES.filter((r) => !(route.admits as readonly Role[]).includes(r))) {
        it(`refuses the ${role} role with 403 and changes nothing`, async () => {
          const headers = bearer(await h.token(role));
          const before = await storesAndLogs(h);
          expectProblem(await inject(headers), 403, 'FORBIDDEN_ROLE');
          expect(await storesAndLogs(h)).toEqual(before);
        });
      }
    });
  }
});

describe('GET /v1/session', () => {
  for (const role of ROLES) {
    it(`answers a ${role} token's own role, sites and person, and no secret`, async () => {
      const secret = await h.token(role);
      const response = await session(secret);
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toEqual({
        tokenId: tokenIdOf(secret),
        role,
        sites: '*',
        person: role === 'product' ? null : expect.stringContaining(`${role} officer`),
        expiresAt: null,
        label: '',
      });
      expect(response.body).not.toContain(secret);
      expect(response.body).not.toMatch(/[0-9a-f]{64}/);
    });
  }

  describe('when the token is scoped to some sites and expires', () => {
    it('answers those sites, the expiry and the label', async () => {
      const created = await h.glasshouse.tokens.create(
        { role: 'legal', person: 'Grace Hopper', sites: ['zurich'], expires: '30d', label: 'desk laptop' },
        { role: 'admin', token: 'test' },
      );
      const response = await session(created.token);
      expect(response.json()).toEqual({
        tokenId: created.id,
        role: 'legal',
        sites: ['zurich'],
        person: 'Grace Hopper',
        expiresAt: '2026-03-31T09:00:00.000Z',
        label: 'desk laptop',
      });
    });
  });

  describe('when the token has expired', () => {
    it('answers 401 TOKEN_EXPIRED', async () => {
      const created = await h.glasshouse.tokens.create(
        { role: 'analyst', expires: '2026-03-01T09:00:01Z' },
        { role: 'admin', token: 'test' },
      );
      clock = new Date('2026-03-01T09:00:02.000Z');
      try {
        expectProblem(await session(created.token), 401, 'TOKEN_EXPIRED');
      } finally {
        clock = new Date('2026-03-01T09:00:00.000Z');
      }
    });
  });
});

describe('POST /v1/tokens', () => {
  describe('when an admin creates a token', () => {
    it('answers 201 with the secret once, which then authenticates, and logs token.created with the admin as actor', async () => {
      const response = await create({
        role: 'privacy',
        person: 'Ada Lovelace',
        expires: '90d',
        sites: ['moscow'],
        label: 'privacy desk',
      });
      expect(response.statusCode, response.body).toBe(201);
      expect(response.headers['cache-control']).toBe('no-store');
      const created = response.json();
      expect(created).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{12}$/),
        token: expect.stringMatching(/^glh_[0-9a-f]{12}_/),
        role: 'privacy',
        sites: ['moscow'],
        label: 'privacy desk',
        person: 'Ada Lovelace',
        createdAt: '2026-03-01T09:00:00.000Z',
        expiresAt: '2026-05-30T09:00:00.000Z',
        revokedAt: null,
        lastUsedAt: null,
        state: 'active',
      });
      expect(tokenIdOf(created.token)).toBe(created.id);

      const own = await session(created.token);
      expect(own.json()).toMatchObject({ tokenId: created.id, role: 'privacy', sites: ['moscow'] });

      const logged = (await controlEntries()).find(
        (e) => e.type === 'token.created' && e.tokenId === created.id,
      );
      expect(logged).toMatchObject({
        role: 'privacy',
        sites: ['moscow'],
        person: expect.stringMatching(/^[0-9a-f]{64}$/),
        expiresAt: '2026-05-30T09:00:00.000Z',
        actor: { role: 'admin', token: adminTokenId, person: expect.stringMatching(/^[0-9a-f]{64}$/) },
      });
      expect(JSON.stringify(logged)).not.toContain('Ada');
    });

    it('makes a token of every site when no sites are given, and takes an ISO date as expiry', async () => {
      const response = await create({ role: 'analyst', expires: '2027-01-01' });
      expect(response.statusCode, response.body).toBe(201);
      expect(response.json()).toMatchObject({
        sites: '*',
        person: null,
        expiresAt: '2027-01-01T00:00:00.000Z',
      });
    });
  });

  describe('when the person already holds an active token of the role', () => {
    it('answers 409 ACTIVE_TOKEN_EXISTS naming it, and creates nothing', async () => {
      const first = await create({ role: 'legal', person: 'Alan Turing' });
      expect(first.statusCode, first.body).toBe(201);
      const refused = await expectRefusedUnchanged(
        {
          method: 'POST',
          url: '/v1/tokens',
          headers: admin,
          payload: { role: 'legal', person: 'alan  TURING' },
        },
        409,
        'ACTIVE_TOKEN_EXISTS',
      );
      expect(refused.json().value).toBe(first.json().id);
    });
  });

  describe('when the request is wrong', () => {
    it.each([
      ['an unknown role', { role: 'root' }, 'VALIDATION_FAILED'],
      ['a legal token without a person', { role: 'legal' }, 'INVALID_TOKEN_REQUEST'],
      ['a privacy token without a person', { role: 'privacy' }, 'INVALID_TOKEN_REQUEST'],
      [
        'an expiry that is no duration or date',
        { role: 'analyst', expires: 'soon' },
        'INVALID_TOKEN_REQUEST',
      ],
      ['an expiry in the past', { role: 'analyst', expires: '2020-01-01' }, 'INVALID_TOKEN_REQUEST'],
      ['an unknown site', { role: 'analyst', sites: ['atlantis'] }, 'INVALID_TOKEN_REQUEST'],
      ['an empty list of sites', { role: 'analyst', sites: [] }, 'VALIDATION_FAILED'],
      ['a name with a format character', { role: 'legal', person: 'Eve\u200b' }, 'INVALID_TOKEN_REQUEST'],
      ['an unknown field', { role: 'analyst', secret: 'mine' }, 'VALIDATION_FAILED'],
      ['no role', { person: 'Nobody' }, 'VALIDATION_FAILED'],
    ])('refuses %s with 400 %s and creates nothing', async (_what, payload, code) => {
      await expectRefusedUnchanged({ method: 'POST', url: '/v1/tokens', headers: admin, payload }, 400, code);
    });

    it('says which field is wrong', async () => {
      expect((await create({ role: 'legal' })).json().field).toBe('person');
      expect((await create({ role: 'analyst', expires: 'soon' })).json().field).toBe('expires');
    });
  });
});

describe('GET /v1/tokens', () => {
  it('lists every token with its state, person and last use, and never a secret', async () => {
    const made = (await create({ role: 'auditor', person: 'Emmy Noether' })).json();
    expect((await session(made.token)).statusCode).toBe(200);
    await h.glasshouse.tokens.close(); // the last-use write is off the request's path
    const response = await h.app.inject({ url: '/v1/tokens', headers: admin });
    expect(response.statusCode, response.body).toBe(200);
    const { tokens } = response.json() as { tokens: Record<string, unknown>[] };
    expect(tokens).toEqual((await h.glasshouse.tokens.list()).map((t) => ({ ...t })));
    expect(tokens.find((t) => t.id === made.id)).toEqual({
      id: made.id,
      role: 'auditor',
      sites: '*',
      label: '',
      person: 'Emmy Noether',
      createdAt: '2026-03-01T09:00:00.000Z',
      expiresAt: null,
      revokedAt: null,
      lastUsedAt: '2026-03-01T09:00:00.000Z',
      state: 'active',
    });
    expect(response.body).not.toContain(made.token);
    expect(response.body).not.toMatch(/glh_|token_hash|salt/);
  });
});

describe('DELETE /v1/tokens/{id}', () => {
  describe('when an admin revokes an active token', () => {
    it('answers 200 with it revoked, logs token.revoked, and its secret is refused from then on', async () => {
      const made = (await create({ role: 'analyst', label: 'to revoke' })).json();
      expect((await session(made.token)).statusCode).toBe(200);
      const response = await h.app.inject({ method: 'DELETE', url: `/v1/tokens/${made.id}`, headers: admin });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toMatchObject({
        id: made.id,
        state: 'revoked',
        revokedAt: '2026-03-01T09:00:00.000Z',
      });
      expect(response.body).not.toContain(made.token);
      expectProblem(await session(made.token), 401, 'UNAUTHENTICATED');
      const logged = (await controlEntries()).find(
        (e) => e.type === 'token.revoked' && e.tokenId === made.id,
      );
      expect(logged).toMatchObject({ actor: { role: 'admin', token: adminTokenId } });
    });
  });

  describe('when the token was revoked already', () => {
    it('answers 409 TOKEN_ALREADY_REVOKED with when, and logs nothing more', async () => {
      const made = (await create({ role: 'analyst' })).json();
      const url = `/v1/tokens/${made.id}`;
      expect((await h.app.inject({ method: 'DELETE', url, headers: admin })).statusCode).toBe(200);
      const refused = await expectRefusedUnchanged(
        { method: 'DELETE', url, headers: admin },
        409,
        'TOKEN_ALREADY_REVOKED',
      );
      expect(refused.json().value).toBe('2026-03-01T09:00:00.000Z');
    });
  });

  describe('when no token has the id', () => {
    it.each(['ffffffffffff', 'not-an-id'])('answers 404 TOKEN_NOT_FOUND for %s', async (id) => {
      await expectRefusedUnchanged(
        { method: 'DELETE', url: `/v1/tokens/${id}`, headers: admin },
        404,
        'TOKEN_NOT_FOUND',
      );
    });
  });

  describe('when a body is sent', () => {
    it('answers 400 UNEXPECTED_BODY and revokes nothing', async () => {
      const made = (await create({ role: 'analyst' })).json();
      await expectRefusedUnchanged(
        { method: 'DELETE', url: `/v1/tokens/${made.id}`, headers: admin, payload: { reason: 'x' } },
        400,
        'UNEXPECTED_BODY',
      );
      expect((await session(made.token)).statusCode).toBe(200);
    });
  });
});

describe('an admin token scoped to some sites', () => {
  it('may read its own session but manage no tokens (403 FORBIDDEN_SITE), and changes nothing', async () => {
    const scoped = bearer(await h.token('admin', ['zurich']));
    expect((await h.app.inject({ url: '/v1/session', headers: scoped })).json()).toMatchObject({
      role: 'admin',
      sites: ['zurich'],
    });
    const victim = (await create({ role: 'analyst' })).json();
    for (const request of [
      { method: 'GET', url: '/v1/tokens', headers: scoped },
      { method: 'POST', url: '/v1/tokens', headers: scoped, payload: { role: 'admin' } },
      { method: 'DELETE', url: `/v1/tokens/${victim.id}`, headers: scoped },
    ] as const) {
      await expectRefusedUnchanged(request, 403, 'FORBIDDEN_SITE');
    }
    expect((await session(victim.token)).statusCode).toBe(200);
  });
});
