import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cosignerFromKey, formatCheckpoint, loadNoteSigner } from '../../src/ledger/note/index.js';

/**
 * Our cosignatures (C2SP tlog-cosignature, cosignature/v1) checked by test/interop/cosigcheck,
 * a Go program written from the specification text on Go's standard library alone. Without
 * Go the suite is skipped locally, but never under CI.
 */
const goInstalled = spawnSync('go', ['version']).status === 0;
const skip = !goInstalled && !process.env.CI;
if (skip) console.warn('go-cosignature: skipped because `go` is not installed; under CI it runs.');

const SOURCE_DIR = new URL('./cosigcheck/', import.meta.url).pathname;

describe.skipIf(skip)('cosigcheck (Go standard library, from the C2SP text)', () => {
  let work: string;
  let cosigcheck: string;
  const log = loadNoteSigner(
    generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    'glasshouse.example/control',
  );
  const witness = cosignerFromKey(generateKeyPairSync('ed25519').privateKey, 'witness.example/w1');
  const body = formatCheckpoint({ origin: log.name, treeSize: 1234, rootHash: Buffer.alloc(32, 0xab) });
  const cosigned = `${log.sign(body)}${witness.cosign(body, 1_700_000_000)}`;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'glasshouse-cosigcheck-'));
    cosigcheck = join(work, 'cosigcheck');
    // GOPATH mode with the standard library only: no module, no proxy, no network.
    const build = spawnSync('go', ['build', '-o', cosigcheck, 'main.go'], {
      cwd: SOURCE_DIR,
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, GO111MODULE: 'off', GOFLAGS: '', GOPROXY: 'off', GOTOOLCHAIN: 'local' },
    });
    if (build.status !== 0) throw new Error(`building cosigcheck failed:\n${build.stderr}`);
  }, 300_000);

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  const check = (note: string, key = witness.verifierKey) =>
    spawnSync(cosigcheck, ['-key', key], { encoding: 'utf8', input: note, timeout: 60_000 });

  describe('when given a checkpoint our witness cosigned and its verifier key', () => {
    it('verifies the cosignature and reads its timestamp', () => {
      const result = check(cosigned);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({
        name: witness.name,
        keyId: witness.keyId.toString('hex'),
        timestamp: 1_700_000_000,
      });
    });
  });

  describe('when the cosigned checkpoint is changed', () => {
    it('rejects it with exit status 1', () => {
      expect(check(cosigned.replace('\n1234\n', '\n1235\n')).status).toBe(1);
    });
  });

  describe('when the key is another witness’s', () => {
    it('finds no cosignature and exits 1', () => {
      const other = cosignerFromKey(generateKeyPairSync('ed25519').privateKey, witness.name);
      expect(check(cosigned, other.verifierKey).status).toBe(1);
    });
  });
});
