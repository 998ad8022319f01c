import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openS3TileStore } from '../../src/adapters/storage/s3/s3-tile-store.js';
import { SqliteLogJournal } from '../../src/adapters/storage/sqlite/sqlite-log-journal.js';
import { signWithAll } from '../../src/ledger/log-keys.js';
import {
  cosignerFromKey,
  formatCheckpoint,
  loadNoteSigner,
  noteSignerFromKey,
} from '../../src/ledger/note/index.js';
import { TransparencyLog } from '../../src/ledger/transparency-log.js';
import { startS3Engine } from '../support/engines/s3.js';
import { sampleEntries, writeCheckpoint, writeTiles } from './tiled-log-fixture.js';

/**
 * Interoperability with Go's golang.org/x/mod/sumdb/note and sumdb/tlog, through
 * test/interop/notecheck (built offline by run-go-check.sh against Debian's
 * golang-golang-x-mod-dev). Without Go the suite is skipped locally, but never under CI.
 */
const GO_INSTALL = 'apt-get install -y golang-go golang-golang-x-mod-dev';
const goInstalled = spawnSync('go', ['version']).status === 0;
const skip = !goInstalled && !process.env.CI;
if (skip) {
  console.warn(`go-interop: skipped because \`go\` is not installed (${GO_INSTALL}); under CI it runs.`);
}

const SCRIPT = new URL('./run-go-check.sh', import.meta.url).pathname;

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe.skipIf(skip)('notecheck (Go golang.org/x/mod/sumdb)', () => {
  let work: string;
  let notecheck: string;
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const signer = loadNoteSigner(pem, 'glasshouse.example/control');
  const rootHash = Buffer.alloc(32, 0xab);
  const signed = signer.sign(formatCheckpoint({ origin: signer.name, treeSize: 1234, rootHash }));

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'glasshouse-go-interop-'));
    const build = spawnSync(SCRIPT, ['build', join(work, 'bin')], { encoding: 'utf8', timeout: 300_000 });
    if (build.status !== 0) {
      throw new Error(`building notecheck failed (${GO_INSTALL}?):\n${build.stderr}`);
    }
    notecheck = build.stdout.trim();
  }, 300_000);

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  function run(args: readonly string[], input?: string): Run {
    const result = spawnSync(notecheck, args, { encoding: 'utf8', input: input ?? '', timeout: 120_000 });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  function verifyNote(note: string, ...extra: string[]): Run {
    return run(['note', '-key', signer.verifierKey, ...extra], note);
  }

  describe('note', () => {
    describe('when given a checkpoint signed by our signer and our verifier key text', () => {
      it('verifies it and reads the same checkpoint', () => {
        const result = verifyNote(signed, '-origin', signer.name);
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        expect(JSON.parse(result.stdout)).toEqual({
          origin: signer.name,
          treeSize: 1234,
          rootHash: rootHash.toString('base64'),
          signatures: [{ name: signer.name, keyId: signer.keyId.toString('hex') }],
        });
      });
    });

    describe('when a witness cosigned the checkpoint (an extra signature line, C2SP tlog-cosignature)', () => {
      it('still verifies it with the log key, the cosignature ignored', () => {
        const witness = cosignerFromKey(generateKeyPairSync('ed25519').privateKey, 'witness.example/w1');
        const body = signed.slice(0, signed.indexOf('\n\n') + 1);
        const result = verifyNote(`${signed}${witness.cosign(body, 1_700_000_000)}`, '-origin', signer.name);
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        expect(JSON.parse(result.stdout)).toMatchObject({ treeSize: 1234 });
      });
    });

    describe('when two keys of the log signed the checkpoint (a key rotation’s overlap)', () => {
      const next = noteSignerFromKey(generateKeyPairSync('ed25519').privateKey, signer.name);
      const both = signWithAll(
        [signer, next],
        formatCheckpoint({ origin: signer.name, treeSize: 1234, rootHash }),
      );

      it.each([
        ['the old key', signer],
        ['the new key', next],
      ])('opens it given %s alone, the other signature ignored', (_, key) => {
        const result = run(['note', '-key', key.verifierKey, '-origin', signer.name], both);
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        expect(JSON.parse(result.stdout)).toMatchObject({
          treeSize: 1234,
          signatures: [{ name: signer.name, keyId: key.keyId.toString('hex') }],
        });
      });
    });

    describe('when the signed note is tampered with', () => {
      const lines = signed.split('\n');
      const signatureLine = lines[4] ?? '';
      const encoded = signatureLine.slice(signatureLine.lastIndexOf(' ') + 1);
      const flipped = Buffer.from(encoded, 'base64');
      flipped[10] = (flipped[10] ?? 0) ^ 0x01;
      const otherKeyId = Buffer.from(encoded, 'base64');
      otherKeyId[0] = (otherKeyId[0] ?? 0) ^ 0x01;
      it.each([
        ['a changed tree size', signed.replace('\n1234\n', '\n1235\n')],
        [
          'a changed root hash',
          signed.replace(rootHash.toString('base64'), Buffer.alloc(32).toString('base64')),
        ],
        ['a flipped signature bit', signed.replace(encoded, flipped.toString('base64'))],
        ['a signature under another key ID', signed.replace(encoded, otherKeyId.toString('base64'))],
        ['a signature under another name', signed.replace(`\u2014 ${signer.name} `, '\u2014 someone.else ')],
        ['no blank line before the signature', signed.replace('\n\n', '\n')],
        ['an extra line after the signature', `${signed}trailer\n`],
      ])('rejects %s with exit status 1', (_, tampered) => {
        expect(tampered).not.toBe(signed);
        const result = verifyNote(tampered);
        expect(result.stdout).toBe('');
        expect(result.status).toBe(1);
      });
    });

    describe('when the checkpoint is for another origin than expected', () => {
      it('rejects it with exit status 1', () => {
        expect(verifyNote(signed, '-origin', 'glasshouse.example/zurich').status).toBe(1);
      });
    });

    describe('when the verifier key is not ours', () => {
      it('rejects the note with exit status 1', () => {
        const other = loadNoteSigner(
          generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
          signer.name,
        );
        expect(run(['note', '-key', other.verifierKey], signed).status).toBe(1);
      });
    });
  });

  describe('tiles', () => {
    const entries = sampleEntries(65_536 + 300);

    function logDir(size: number): string {
      const dir = mkdtempSync(join(work, `log-${size}-`));
      writeTiles(dir, entries, size);
      writeCheckpoint(dir, entries, size, signer);
      return dir;
    }

    function verifyTiles(dir: string, records: string): Run {
      return run([
        'tiles',
        '-key',
        signer.verifierKey,
        '-origin',
        signer.name,
        '-dir',
        dir,
        '-records',
        records,
      ]);
    }

    describe('when the tiles and entry bundles are those of the checkpoint', () => {
      it.each([
        [0, 'all'],
        [1, 'all'],
        [7, 'all'],
        [256, 'all'],
        [257, 'all'],
        [1000, 'all'],
        [65_536 + 300, '64'],
      ])('verifies a log of %i entries (records: %s)', (size, records) => {
        const result = verifyTiles(logDir(size), records);
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        expect(JSON.parse(result.stdout)).toMatchObject({ treeSize: size });
      });
    });

    describe('when the log publishes its tiles to an S3 bucket, read over HTTP as the public reads them', () => {
      it('verifies the checkpoint, the tiles and every record', async () => {
        const s3 = await startS3Engine();
        try {
          const bucket = await s3.createBucket();
          const log = await TransparencyLog.open({
            origin: signer.name,
            journal: new SqliteLogJournal(join(work, 'bucket-log', 'journal.db')),
            tiles: await openS3TileStore(s3.url(bucket, 'log/'), { client: s3.clientConfig }),
            signer,
            checkpointIntervalMs: 0,
            publish: true,
          });
          await Promise.all(entries.slice(0, 700).map((entry) => log.appendBytes(entry)));
          await log.publish();
          await log.close();
          expect(await s3.keys(bucket, 'log/checkpoint')).toEqual(['log/checkpoint']);
          const result = verifyTiles(`${s3.endpoint}/${bucket}/log`, 'all');
          expect(result.stderr).toBe('');
          expect(result.status).toBe(0);
          expect(JSON.parse(result.stdout)).toMatchObject({ treeSize: 700, recordsChecked: 700 });

          // The same check fails once an object in the bucket is changed behind the log's back.
          const tile = Buffer.from(
            await (
              await s3.admin.send(new GetObjectCommand({ Bucket: bucket, Key: 'log/tile/0/000' }))
            ).Body!.transformToByteArray(),
          );
          tile[5] = (tile[5] ?? 0) ^ 0x01;
          await s3.admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'log/tile/0/000', Body: tile }));
          expect(verifyTiles(`${s3.endpoint}/${bucket}/log`, 'all').status).toBe(1);
        } finally {
          await s3.stop();
        }
      }, 60_000);
    });

    describe('when a partial tile was deleted once its full tile existed', () => {
      it('reads the full tile instead', () => {
        const dir = mkdtempSync(join(work, 'log-grown-'));
        writeTiles(dir, entries, 600);
        writeTiles(dir, entries, 300);
        rmSync(join(dir, 'tile/0/001.p/44'));
        rmSync(join(dir, 'tile/entries/001.p/44'));
        writeCheckpoint(dir, entries, 300, signer);
        expect(verifyTiles(dir, 'all').status).toBe(0);
      });
    });

    describe('when a hash tile is corrupted', () => {
      it.each([
        ['the partial tile the root is computed from', 'tile/0/003.p/232', /inconsistent tile|tiles hash to/],
        ['a full tile that only record proofs read', 'tile/0/001', /record 333/],
      ])('rejects %s with exit status 1', (_, path, message) => {
        const dir = logDir(1000);
        const file = join(dir, path);
        const tile = readFileSync(file);
        tile[5] = (tile[5] ?? 0) ^ 0x01;
        writeFileSync(file, tile);
        const result = verifyTiles(dir, '4');
        expect(result.status).toBe(1);
        expect(result.stderr).toMatch(message);
      });
    });

    describe('when an entry bundle holds another entry', () => {
      it('rejects the log with exit status 1', () => {
        const dir = logDir(300);
        const changed = entries.slice(0, 300);
        changed[299] = Buffer.from('forged');
        writeTiles(join(dir, 'forged'), changed, 300);
        writeFileSync(
          join(dir, 'tile/entries/001.p/44'),
          readFileSync(join(dir, 'forged/tile/entries/001.p/44')),
        );
        const result = verifyTiles(dir, 'all');
        expect(result.status).toBe(1);
        expect(result.stderr).toContain('record 299');
      });
    });

    describe('when a tile is missing', () => {
      it('rejects the log with exit status 1', () => {
        const dir = logDir(1000);
        rmSync(join(dir, 'tile/1/000.p/3'));
        const result = verifyTiles(dir, '4');
        expect(result.status).toBe(1);
        expect(result.stderr).toContain('tile/1/000.p/3');
      });
    });
  });
});
