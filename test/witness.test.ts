import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryHashStore, proveConsistency, treeHash } from '../src/ledger/merkle/index.js';
import {
  formatCheckpoint,
  loadNoteSigner,
  type NoteSigner,
  openCosignatures,
  parseCosignerVerifierKey,
} from '../src/ledger/note/index.js';
import { formatAddCheckpointRequest } from '../src/ledger/witnessing.js';
import { runCli } from './support/cli.js';
import { killAllWitnesses, startWitness, type WitnessProcess } from './support/witness-process.js';

const ORIGIN = 'glasshouse.example/control';

/** A log in memory: its checkpoints and consistency proofs, signed by `signer`. */
class MemoryLog {
  readonly #store = new MemoryHashStore();
  constructor(
    readonly signer: NoteSigner,
    readonly entries: readonly string[],
  ) {}

  async checkpoint(size: number): Promise<string> {
    await this.#grow(size);
    const rootHash = await treeHash(size, this.#store.read);
    return this.signer.sign(formatCheckpoint({ origin: this.signer.name, treeSize: size, rootHash }));
  }

  async request(oldSize: number, size: number): Promise<string> {
    await this.#grow(size);
    const proof =
      oldSize === 0 || oldSize === size ? [] : await proveConsistency(oldSize, size, this.#store.read);
    return formatAddCheckpointRequest({ oldSize, proof, checkpoint: await this.checkpoint(size) });
  }

  async #grow(size: number): Promise<void> {
    while (this.#store.size < size) await this.#store.append(Buffer.from(this.entries[this.#store.size]!));
  }
}

function newSigner(name = ORIGIN): NoteSigner {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return loadNoteSigner(pem, name);
}

async function post(witness: WitnessProcess, body: string) {
  const response = await fetch(`${witness.url}/add-checkpoint`, { method: 'POST', body });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

describe('glasshouse witness', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glasshouse-witness-'));
  const data = join(dir, 'witness');
  const signer = newSigner();
  const entries = Array.from({ length: 400 }, (_, i) => `entry ${i}`);
  const real = new MemoryLog(signer, entries);
  // The operator rewrites history: same origin and key, another entry at index 2.
  const forked = new MemoryLog(
    signer,
    entries.map((e, i) => (i === 2 ? 'rewritten' : e)),
  );
  let witness: WitnessProcess;
  let witnessKey: string;

  async function expectCosigned(oldSize: number, size: number) {
    const reply = await post(witness, await real.request(oldSize, size));
    expect(reply.status, reply.text).toBe(200);
    const cosigned = `${await real.checkpoint(size)}${reply.text}`;
    const [cosignature] = openCosignatures(cosigned, [parseCosignerVerifierKey(witnessKey)]);
    expect(cosignature?.name).toBe('witness.test/w1');
  }

  beforeAll(async () => {
    witnessKey = runCli(['witness', 'key', '--data', data, '--name', 'witness.test/w1']).stdout.trim();
    const added = runCli(['witness', 'add-log', '--data', data, '--key', signer.verifierKey, '--json']);
    expect(JSON.parse(added.stdout)).toEqual({
      origin: ORIGIN,
      key: signer.verifierKey,
      keys: [signer.verifierKey],
    });
    witness = await startWitness(data);
  }, 300_000);

  afterAll(async () => {
    await killAllWitnesses();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the same key as it serves with, a cosignature/v1 key', () => {
    expect(witness.key).toBe(witnessKey);
    expect(parseCosignerVerifierKey(witnessKey).name).toBe('witness.test/w1');
  });

  describe('when a log adds growing checkpoints with consistency proofs', () => {
    it('cosigns each one', async () => {
      await expectCosigned(0, 3);
      await expectCosigned(3, 10);
      await expectCosigned(10, 20);
      await expectCosigned(20, 20);
    });
  });

  describe('when the client is behind the witness', () => {
    it('answers 409 with the size it cosigned last, as text/x.tlog.size', async () => {
      const reply = await post(witness, await real.request(3, 25));
      expect(reply).toEqual({ status: 409, type: 'text/x.tlog.size', text: '20\n' });
    });
  });

  describe('when the log forked (another entry at an old index)', () => {
    it('refuses a larger forked checkpoint whose proof cannot reach the cosigned one (422)', async () => {
      const reply = await post(witness, await forked.request(20, 30));
      expect(reply.status).toBe(422);
      expect(JSON.parse(reply.text)).toMatchObject({ code: 'WITNESS_INVALID_PROOF' });
    });

    it('refuses a forked checkpoint of the size it cosigned (409)', async () => {
      const reply = await post(witness, await forked.request(20, 20));
      expect(reply.status).toBe(409);
      expect(JSON.parse(reply.text)).toMatchObject({ code: 'WITNESS_ROOT_MISMATCH' });
    });
  });

  describe('when the checkpoint is not one of a log it follows', () => {
    it('answers 404 for an unknown origin', async () => {
      const other = new MemoryLog(newSigner('glasshouse.example/other'), entries);
      const reply = await post(witness, await other.request(0, 5));
      expect(reply.status).toBe(404);
      expect(JSON.parse(reply.text)).toMatchObject({ code: 'WITNESS_UNKNOWN_LOG' });
    });

    it('answers 403 for the right origin signed by another key', async () => {
      const impostor = new MemoryLog(newSigner(ORIGIN), entries);
      const reply = await post(witness, await impostor.request(20, 30));
      expect(reply.status).toBe(403);
      expect(JSON.parse(reply.text)).toMatchObject({ code: 'WITNESS_UNTRUSTED_CHECKPOINT' });
    });

    it('answers 400 for a body that is not an add-checkpoint request', async () => {
      expect((await post(witness, 'hello')).status).toBe(400);
    });
  });

  describe('when the witness is killed (kill -9) while cosigning, then restarted', () => {
    it('keeps every checkpoint it cosigned, still refuses the fork and continues the real log', async () => {
      let cosignedUpTo = 20;
      const stream = (async () => {
        for (let size = 21; size <= 300; size++) {
          const reply = await post(witness, await real.request(size - 1, size)).catch(() => undefined);
          if (reply?.status !== 200) return;
          cosignedUpTo = size;
        }
      })();
      // Kill it mid-stream, once it has cosigned a few.
      while (cosignedUpTo < 25) await new Promise((resolve) => setTimeout(resolve, 5));
      await witness.kill();
      await stream;
      witness = await startWitness(data);

      const probe = await post(witness, await real.request(0, 300));
      expect(probe.status).toBe(409);
      const recorded = Number(probe.text);
      // Never a cosignature for a checkpoint the witness could forget.
      expect(recorded).toBeGreaterThanOrEqual(cosignedUpTo);
      expect(recorded).toBeLessThanOrEqual(cosignedUpTo + 1);

      expect((await post(witness, await forked.request(recorded, 350))).status).toBe(422);
      await expectCosigned(recorded, 350);
    }, 60_000);
  });

  describe('when two witness processes share its data and get two different extensions at once', () => {
    it('cosigns one of them and answers the other 409', async () => {
      const second = await startWitness(data);
      // A history that agrees with the real one up to 350 and differs at 355.
      const diverging = new MemoryLog(
        signer,
        entries.map((e, i) => (i === 355 ? 'diverging' : e)),
      );
      const replies = await Promise.all([
        post(witness, await real.request(350, 360)),
        post(second, await diverging.request(350, 360)),
      ]);
      expect(replies.map((r) => r.status).sort()).toEqual([200, 409]);
      expect(replies.find((r) => r.status === 409)?.text).toBe('360\n');
    }, 60_000);
  });
});
