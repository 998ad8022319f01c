import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FsTileStore } from '../adapters/storage/fs/fs-tile-store.js';
import { SqliteLogJournal } from '../adapters/storage/sqlite/sqlite-log-journal.js';
import { LedgerError } from './ledger-errors.js';
import { hashLeaf, rootOfLeaves, verifyConsistency, verifyInclusion } from './merkle/index.js';
import { canonicalJson, type NoteSigner, noteSignerFromKey, openCheckpoint } from './note/index.js';
import { TransparencyLog } from './transparency-log.js';
import { verifyPublishedLog } from './verify-published-log.js';

const ORIGIN = 'glasshouse-test/zurich';
const signer: NoteSigner = noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, ORIGIN);
const dirs: string[] = [];
const logs: TransparencyLog[] = [];

afterEach(async () => {
  for (const log of logs.splice(0)) await log.close().catch(() => undefined);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function newDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'glasshouse-log-'));
  dirs.push(dir);
  return dir;
}

async function openLog(dir: string, publish = true): Promise<TransparencyLog> {
  const log = await TransparencyLog.open({
    origin: ORIGIN,
    journal: new SqliteLogJournal(join(dir, 'journal.db')),
    tiles: new FsTileStore(join(dir, 'public')),
    signer,
    checkpointIntervalMs: 0,
    publish,
  });
  logs.push(log);
  return log;
}

function entry(i: number): Buffer {
  return Buffer.from(
    canonicalJson({ type: 'test', time: '2026-11-23T00:00:00Z', actor: { role: 'admin', token: 't' }, i }),
  );
}

const readFrom = (dir: string) => async (path: string) => {
  try {
    return readFileSync(join(dir, 'public', path));
  } catch {
    return undefined;
  }
};

describe('TransparencyLog', () => {
  describe('when many writers append at once', () => {
    it('gives each entry its own index and a tree whose root matches the RFC 6962 definition', async () => {
      const dir = newDir();
      const log = await openLog(dir);
      const indexes = await Promise.all(Array.from({ length: 700 }, (_, i) => log.appendBytes(entry(i))));
      expect([...indexes].sort((a, b) => a - b)).toEqual(Array.from({ length: 700 }, (_, i) => i));
      await log.publish();
      const checkpoint = openCheckpoint((await log.checkpoint())!, [signer], { origin: ORIGIN });
      expect(checkpoint.treeSize).toBe(700);
      const stored = await log.readEntries(0, 700);
      expect(Buffer.from(checkpoint.rootHash).equals(rootOfLeaves(stored.map((e) => hashLeaf(e))))).toBe(
        true,
      );
    });
  });

  describe('when proofs are asked for a published size', () => {
    it('serves inclusion and consistency proofs that verify against the checkpoints', async () => {
      const dir = newDir();
      const log = await openLog(dir);
      for (let i = 0; i < 300; i++) await log.appendBytes(entry(i));
      await log.publish();
      const old = openCheckpoint((await log.checkpoint())!, [signer]);
      await Promise.all(Array.from({ length: 250 }, (_, i) => log.appendBytes(entry(300 + i))));
      await log.publish();
      const now = openCheckpoint((await log.checkpoint())!, [signer]);
      for (const index of [0, 1, 255, 256, 299, 549]) {
        const proof = await log.proveInclusion(index, 550);
        const [bytes] = await log.readEntries(index, index + 1);
        verifyInclusion(proof, index, 550, hashLeaf(bytes!), Buffer.from(now.rootHash));
      }
      const consistency = await log.proveConsistency(300, 550);
      verifyConsistency(consistency, 300, 550, Buffer.from(old.rootHash), Buffer.from(now.rootHash));
      await expect(log.proveInclusion(0, 551)).rejects.toMatchObject({ code: 'INVALID_PROOF_REQUEST' });
      await expect(log.proveConsistency(0, 10)).rejects.toMatchObject({ code: 'INVALID_PROOF_REQUEST' });
    });
  });

  describe('when two processes append to the same journal', () => {
    it('sequences both into one consistent tree (the CLI and the server share a node log)', async () => {
      const dir = newDir();
      const server = await openLog(dir, true);
      const cli = await openLog(dir, false);
      for (let i = 0; i < 40; i++) {
        await (i % 3 === 0 ? cli : server).appendBytes(entry(i));
      }
      await Promise.all([
        server.appendBytes(entry(100)),
        cli.appendBytes(entry(101)),
        server.appendBytes(entry(102)),
      ]);
      await server.publish();
      const verified = await verifyPublishedLog({ read: readFrom(dir), verifierKey: signer.verifierKey });
      expect(verified.size).toBe(43);
    });
  });

  describe('when the log is reopened', () => {
    it('continues the same tree, and the old checkpoint is a prefix of the new', async () => {
      const dir = newDir();
      const first = await openLog(dir);
      for (let i = 0; i < 260; i++) await first.appendBytes(entry(i));
      await first.close();
      logs.splice(logs.indexOf(first), 1);
      const old = readFileSync(join(dir, 'public', 'checkpoint'), 'utf8');
      const second = await openLog(dir);
      await second.appendBytes(entry(999));
      await second.publish();
      const verified = await verifyPublishedLog({
        read: readFrom(dir),
        verifierKey: signer.verifierKey,
        previousCheckpoint: old,
      });
      expect(verified).toMatchObject({ size: 261, previous: { size: 260 } });
    });
  });

  describe('when an entry is too large for an entry bundle', () => {
    it('refuses it', async () => {
      const log = await openLog(newDir());
      await expect(log.appendBytes(Buffer.alloc(70_000))).rejects.toBeInstanceOf(LedgerError);
    });
  });
});

describe('verifyPublishedLog', () => {
  async function publishedLog(size: number) {
    const dir = newDir();
    const log = await openLog(dir);
    await Promise.all(Array.from({ length: size }, (_, i) => log.appendBytes(entry(i))));
    await log.publish();
    return dir;
  }

  function filesOf(dir: string, prefix: string): string[] {
    return readdirSync(join(dir, 'public'), { recursive: true, encoding: 'utf8' }).filter(
      (p) => p.startsWith(prefix) && statSync(join(dir, 'public', p)).isFile(),
    );
  }

  describe('when a byte of any tile or entry bundle is flipped', () => {
    it('fails, naming the mismatch', async () => {
      const dir = await publishedLog(600);
      await expect(
        verifyPublishedLog({ read: readFrom(dir), verifierKey: signer.verifierKey }),
      ).resolves.toMatchObject({
        size: 600,
      });
      const targets = [
        ...filesOf(dir, join('tile', 'entries')),
        ...filesOf(dir, join('tile', '0')),
        ...filesOf(dir, join('tile', '1')),
      ];
      expect(targets.length).toBeGreaterThan(4);
      for (const target of targets) {
        const path = join(dir, 'public', target);
        const original = readFileSync(path);
        const flipped = Buffer.from(original);
        flipped[Math.floor(original.length / 2)]! ^= 0x01;
        writeFileSync(path, flipped);
        await expect(
          verifyPublishedLog({ read: readFrom(dir), verifierKey: signer.verifierKey }),
          target,
        ).rejects.toThrow();
        writeFileSync(path, original);
      }
    });
  });

  describe('when the checkpoint is signed by another key', () => {
    it('fails', async () => {
      const dir = await publishedLog(3);
      const other = noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, ORIGIN);
      await expect(
        verifyPublishedLog({ read: readFrom(dir), verifierKey: other.verifierKey }),
      ).rejects.toThrow();
    });
  });
});
