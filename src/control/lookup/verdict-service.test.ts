import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteVerdictStore } from '../../adapters/storage/sqlite/sqlite-verdict-store.js';
import { NoteError } from '../../ledger/note/note-errors.js';
import type { AuditEntry, AuditSink } from '../../ports/audit-sink.js';
import type { Principal } from '../auth/roles.js';
import { LookupError } from './lookup-errors.js';
import { VerdictService } from './verdict-service.js';
import type { VerdictStore } from './verdict-store.js';

const MD5 = '44d88612fea8a8f36de82e1278abb02f';
const ACTOR = { role: 'analyst', token: 'tok_1' };
const ANALYST: Principal = { role: 'analyst', tokenId: 'tok_1', sites: '*', person: null };
const NOW = new Date('2024-05-01T12:00:00Z');

/** A log that takes entries until told to refuse them, as a full disk or a closed log would. */
class ControlledLog implements AuditSink {
  readonly entries: AuditEntry[] = [];
  refusing = false;
  async append(entry: AuditEntry): Promise<void> {
    if (this.refusing) throw new NoteError('UNREPRESENTABLE_JSON', 'refused');
    this.entries.push(entry);
  }
  async close(): Promise<void> {}
}

let dir: string;
let store: VerdictStore;
let log: ControlledLog;
let service: VerdictService;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'glasshouse-verdicts-'));
  store = await openSqliteVerdictStore({ file: join(dir, 'verdicts.db'), cacheBytes: 1 << 20 });
  log = new ControlledLog();
  service = new VerdictService({ store, audit: log, sites: new Map(), now: () => NOW });
  await service.load();
  await service.set(MD5, { verdict: 'suspicious', threat: 'Before' }, ANALYST);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function feed(text: string) {
  return (async function* () {
    yield Buffer.from(text);
  })();
}

describe('VerdictService', () => {
  describe('when the log refuses the entry of a verdict', () => {
    it('leaves the verdict as it was, in the store and the index', async () => {
      log.refusing = true;
      await expect(
        service.set(MD5, { verdict: 'malicious', threat: 'After' }, ANALYST),
      ).rejects.toBeInstanceOf(NoteError);
      expect(service.lookup(MD5)).toMatchObject({ verdict: 'suspicious', threat: 'Before' });
      await service.load();
      expect(service.lookup(MD5)).toMatchObject({ verdict: 'suspicious', threat: 'Before' });
    });
  });

  describe('when the log refuses the entry of an import', () => {
    it('loads nothing', async () => {
      log.refusing = true;
      const line = `{"hash":"${'0'.repeat(40)}","verdict":"malicious","threat":"Fed"}\n`;
      await expect(
        service.import(await feed(line), { format: 'ndjson', skipBad: false }, ACTOR),
      ).rejects.toBeInstanceOf(NoteError);
      expect(await store.counts()).toEqual({ md5: 1, sha1: 0, sha256: 0 });
    });
  });

  describe('when a threat or source is not text', () => {
    it('refuses it with INVALID_VERDICT before anything is logged or stored', async () => {
      const logged = log.entries.length;
      for (const request of [
        { verdict: 'malicious' as const, threat: 'Evil\ud800' },
        { verdict: 'malicious' as const, threat: 'Evil\u0000' },
        { verdict: 'malicious' as const, source: 'feed\u001b' },
      ]) {
        await expect(service.set(MD5, request, ANALYST)).rejects.toMatchObject({
          constructor: LookupError,
          code: 'INVALID_VERDICT',
        });
      }
      expect(log.entries).toHaveLength(logged);
      expect(service.lookup(MD5)).toMatchObject({ verdict: 'suspicious', threat: 'Before' });
    });
  });
});
