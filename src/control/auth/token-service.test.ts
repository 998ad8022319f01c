import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteMetadataStore } from '../../adapters/storage/sqlite/sqlite-metadata-store.js';
import type { AuditEntry, AuditSink } from '../../ports/audit-sink.js';
import type { MetadataStore } from '../../ports/storage.js';
import { AuthError } from './auth-errors.js';
import { type AuthTables, authMigrations } from './auth-tables.js';
import { TokenService } from './token-service.js';

const ADMIN = { role: 'admin', token: 'test' };
const NO_AUDIT: AuditSink = { append: async () => undefined, close: async () => undefined };
const START = new Date('2026-03-01T09:00:00.000Z');

let store: MetadataStore<AuthTables> | undefined;
let dir: string | undefined;
afterEach(async () => {
  await store?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** A token service on a fresh store, a clock the test moves, and the log entries it appends. */
async function tokenService() {
  dir = mkdtempSync(join(tmpdir(), 'glasshouse-tokens-'));
  store = await openSqliteMetadataStore<AuthTables>({
    file: join(dir, 'control.db'),
    migrations: authMigrations,
  });
  const entries: AuditEntry[] = [];
  const audit: AuditSink = {
    append: async (entry) => {
      entries.push(entry);
    },
    close: async () => undefined,
  };
  const clock = { now: START };
  const tokens = new TokenService({
    db: store.db,
    knownSites: new Set(['zurich', 'moscow']),
    audit,
    now: () => clock.now,
  });
  const advance = (ms: number) => {
    clock.now = new Date(clock.now.getTime() + ms);
  };
  return { tokens, entries, advance, db: store.db };
}

async function codeOf(action: Promise<unknown>): Promise<string | undefined> {
  try {
    await action;
  } catch (error) {
    if (error instanceof AuthError) return error.code;
    throw error;
  }
  return undefined;
}

describe('TokenService', () => {
  describe('when a token is revoked twice', () => {
    it('refuses the second revocation with TOKEN_ALREADY_REVOKED and logs one entry', async () => {
      const { tokens, entries } = await tokenService();
      const made = await tokens.create({ role: 'analyst' }, ADMIN);
      await tokens.revoke(made.id, ADMIN);
      expect(await codeOf(tokens.revoke(made.id, ADMIN))).toBe('TOKEN_ALREADY_REVOKED');
      expect(await codeOf(tokens.revoke('ffffffffffff', ADMIN))).toBe('TOKEN_NOT_FOUND');
      expect(entries.filter((e) => e.type === 'token.revoked')).toHaveLength(1);
      expect(await tokens.info(made.id)).toMatchObject({ id: made.id, state: 'revoked' });
      expect(await codeOf(tokens.info('ffffffffffff'))).toBe('TOKEN_NOT_FOUND');
    });
  });

  describe('when a person asks for a second token of a role', () => {
    it('refuses it while the first is active, however the name is written, and allows it once revoked', async () => {
      const { tokens } = await tokenService();
      const first = await tokens.create({ role: 'legal', person: 'Ada Lovelace' }, ADMIN);
      expect(await codeOf(tokens.create({ role: 'legal', person: '  ada   LOVELACE ' }, ADMIN))).toBe(
        'ACTIVE_TOKEN_EXISTS',
      );
      expect((await tokens.list()).map((t) => t.id)).toEqual([first.id]);
      // Another role, or another person, is another token.
      await tokens.create({ role: 'privacy', person: 'Ada Lovelace' }, ADMIN);
      await tokens.create({ role: 'legal', person: 'Grace Hopper' }, ADMIN);
      await tokens.revoke(first.id, ADMIN);
      const second = await tokens.create({ role: 'legal', person: 'ada lovelace' }, ADMIN);
      expect(second.person).toBe('Ada Lovelace');
    });

    it('allows it once the first has expired', async () => {
      const { tokens, advance } = await tokenService();
      await tokens.create({ role: 'legal', person: 'Ada Lovelace', expires: '1d' }, ADMIN);
      expect(await codeOf(tokens.create({ role: 'legal', person: 'Ada Lovelace' }, ADMIN))).toBe(
        'ACTIVE_TOKEN_EXISTS',
      );
      advance(86_400_000);
      expect((await tokens.create({ role: 'legal', person: 'Ada Lovelace' }, ADMIN)).state).toBe('active');
    });
  });

  describe('when an officer token names no person, or a bad one', () => {
    it.each([
      [{ role: 'legal' }],
      [{ role: 'privacy' }],
      [{ role: 'legal', person: '   ' }],
      [{ role: 'analyst', person: 'Ada\u0000Lovelace' }],
      [{ role: 'analyst', person: 'x'.repeat(201) }],
    ])('refuses it and stores nothing (%j)', async (request) => {
      const { tokens, entries } = await tokenService();
      expect(await codeOf(tokens.create(request, ADMIN))).toBe('INVALID_TOKEN_REQUEST');
      expect(await tokens.list()).toEqual([]);
      expect(entries).toEqual([]);
    });
  });

  describe('when a token expires', () => {
    it('is refused with TOKEN_EXPIRED at its expiry, from the cache too', async () => {
      const { tokens, advance } = await tokenService();
      const created = await tokens.create({ role: 'analyst', person: 'Ada', expires: '2h' }, ADMIN);
      expect(created.expiresAt).toBe('2026-03-01T11:00:00.000Z');
      expect((await tokens.authenticate(created.token))?.tokenId).toBe(created.id);
      expect(tokens.authenticateCached(created.token)?.tokenId).toBe(created.id);
      advance(2 * 3_600_000 - 1);
      expect(tokens.authenticateCached(created.token)?.tokenId).toBe(created.id);
      advance(1);
      expect(tokens.authenticateCached(created.token)).toBeUndefined();
      expect(await codeOf(tokens.authenticate(created.token))).toBe('TOKEN_EXPIRED');
      expect((await tokens.list())[0]?.state).toBe('expired');
    });

    it('does not tell a wrong secret of an expired token from an unknown token', async () => {
      const { tokens, advance } = await tokenService();
      const created = await tokens.create({ role: 'analyst', expires: '1h' }, ADMIN);
      advance(3_600_000);
      const forged = `${created.token.slice(0, -4)}AAAA`;
      expect(await tokens.authenticate(forged)).toBeUndefined();
    });

    it.each([
      '0d',
      '-1d',
      '90',
      '90y',
      '2026-02-30',
      '2026-03-01',
      '2026-03-01T08:59:59Z',
      '2026-03-01T10:00+01:00',
      'tomorrow',
    ])('refuses --expires %s (not a future time) and stores nothing', async (expires) => {
      const { tokens } = await tokenService();
      expect(await codeOf(tokens.create({ role: 'analyst', expires }, ADMIN))).toBe('INVALID_TOKEN_REQUEST');
      expect(await tokens.list()).toEqual([]);
    });

    it.each([
      ['90d', '2026-05-30T09:00:00.000Z'],
      ['12h', '2026-03-01T21:00:00.000Z'],
      ['2w', '2026-03-15T09:00:00.000Z'],
      ['2026-06-01', '2026-06-01T00:00:00.000Z'],
      ['2026-03-01T11:00+01:00', '2026-03-01T10:00:00.000Z'],
    ])('reads --expires %s as %s', async (expires, at) => {
      const { tokens } = await tokenService();
      expect((await tokens.create({ role: 'analyst', expires }, ADMIN)).expiresAt).toBe(at);
    });
  });

  describe('when a token is used', () => {
    it('records its last use at most once a minute, however often it is used', async () => {
      const { tokens, advance } = await tokenService();
      const created = await tokens.create({ role: 'product' }, ADMIN);
      expect((await tokens.list())[0]?.lastUsedAt).toBeNull();
      await tokens.authenticate(created.token);
      for (let i = 0; i < 59; i += 1) {
        advance(1000);
        tokens.authenticateCached(created.token);
      }
      await tokens.close();
      // 60 uses over 59 s: one write, of the first.
      expect((await tokens.list())[0]?.lastUsedAt).toBe(START.toISOString());
      advance(1000);
      tokens.authenticateCached(created.token);
      await tokens.close();
      expect((await tokens.list())[0]?.lastUsedAt).toBe('2026-03-01T09:01:00.000Z');
    });
  });

  describe('when a token is created for a person', () => {
    it('logs a commitment to the person, never the name, the same for every token of theirs', async () => {
      const { tokens, entries } = await tokenService();
      const legal = await tokens.create({ role: 'legal', person: 'Ada Lovelace', expires: '90d' }, ADMIN);
      await tokens.create({ role: 'privacy', person: 'ADA LOVELACE' }, ADMIN);
      await tokens.create({ role: 'legal', person: 'Grace Hopper' }, ADMIN);
      const [first, second, other] = entries;
      expect(first).toMatchObject({
        type: 'token.created',
        tokenId: legal.id,
        person: expect.stringMatching(/^[0-9a-f]{64}$/),
        expiresAt: '2026-05-30T09:00:00.000Z',
      });
      expect(second?.person).toBe(first?.person);
      expect(other?.person).not.toBe(first?.person);
      expect(JSON.stringify(entries).toLowerCase()).not.toContain('lovelace');
      const principal = await tokens.authenticate(legal.token);
      expect(principal?.person).toEqual({ name: 'Ada Lovelace', commitment: first?.person });
    });
  });

  describe('when the store holds a token from before tokens named people', () => {
    it('migrates it: it keeps working, names no person, and lists as such', async () => {
      dir = mkdtempSync(join(tmpdir(), 'glasshouse-tokens-'));
      const file = join(dir, 'control.db');
      const old = await openSqliteMetadataStore<AuthTables>({
        file,
        migrations: { '0001_tokens': authMigrations['0001_tokens']! },
      });
      const token = `glh_0123456789ab_${'A'.repeat(43)}`;
      await old.db
        .insertInto('tokens')
        .values({
          id: '0123456789ab',
          token_hash: createHash('sha256').update(token).digest('hex'),
          role: 'legal',
          sites: '"*"',
          label: 'old',
          created_at: '2025-01-01T00:00:00.000Z',
        } as never)
        .execute();
      await old.close();
      store = await openSqliteMetadataStore<AuthTables>({ file, migrations: authMigrations });
      const tokens = new TokenService({ db: store.db, knownSites: new Set(['zurich']), audit: NO_AUDIT });
      expect(await tokens.authenticate(token)).toEqual({
        tokenId: '0123456789ab',
        role: 'legal',
        sites: '*',
        person: null,
      });
      expect((await tokens.list())[0]).toMatchObject({ person: null, expiresAt: null, state: 'active' });
      await tokens.close();
    });
  });
});
