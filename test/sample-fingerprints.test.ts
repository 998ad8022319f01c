import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SsdeepHasher } from '../src/site/vault/fingerprint/ssdeep.js';
import { TlshHasher } from '../src/site/vault/fingerprint/tlsh.js';
import { runCliAsync } from './support/cli.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { registerInstallation, submitSample } from './support/installations.js';

/*
 * A fresh upload's fuzzy hashes and file type, through GET /v1/samples/{hash}, the type
 * filter of GET /v1/samples (site scope included), and `glasshouse samples show`.
 */

let h: Harness;
let analystToken = '';
let zurichToken = '';
let pdf: { sha256: string; bytes: Buffer };
let elf: { sha256: string; bytes: Buffer };
let tiny: { sha256: string; bytes: Buffer };
let productToken = '';
let zurichInstallation = '';

function streamOf(label: string, size: number): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; i * 32 < size; i++) blocks.push(createHash('sha256').update(`${label}:${i}`).digest());
  return Buffer.concat(blocks).subarray(0, size);
}

function expectedOf(bytes: Buffer) {
  const ssdeep = new SsdeepHasher();
  const tlsh = new TlshHasher();
  ssdeep.update(bytes);
  tlsh.update(bytes);
  return { ssdeep: ssdeep.digest(), tlsh: tlsh.digest() };
}

beforeAll(async () => {
  h = await startHarness();
  const product = await h.token('product');
  analystToken = await h.token('analyst');
  zurichToken = await h.token('analyst', ['zurich']);
  const zurich = await registerInstallation(h.app, product, 'DE');
  const moscow = await registerInstallation(h.app, product, 'RU');
  expect([zurich.site, moscow.site]).toEqual(['zurich', 'moscow']);
  productToken = product;
  zurichInstallation = zurich.id;
  const upload = async (installation: string, bytes: Buffer) => {
    const response = await submitSample(h.app, product, installation, 'x.bin', bytes);
    expect(response.statusCode, response.body).toBe(201);
    return { sha256: response.json().sha256 as string, bytes };
  };
  pdf = await upload(zurich.id, Buffer.concat([Buffer.from('%PDF-1.7\n'), streamOf('pdf', 300_000)]));
  elf = await upload(
    moscow.id,
    Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), streamOf('elf', 70_000)]),
  );
  tiny = await upload(zurich.id, Buffer.from('#!/bin/sh\necho hi\n'));
}, 300_000);
afterAll(() => h.close());

const get = (url: string, token = analystToken) => h.app.inject({ url, headers: bearer(token) });

describe('GET /v1/samples/{hash}', () => {
  describe('when the sample was just uploaded', () => {
    it('answers its ssdeep, TLSH and file type', async () => {
      for (const [sample, type] of [
        [pdf, 'application/pdf'],
        [elf, 'application/x-elf'],
      ] as const) {
        const response = await get(`/v1/samples/${sample.sha256}`);
        expect(response.statusCode, response.body).toBe(200);
        expect(response.json()).toMatchObject({ ...expectedOf(sample.bytes), type });
        expect(response.json().tlsh).toMatch(/^T1[0-9A-F]{70}$/);
      }
    });

    it('answers no TLSH for a sample under 256 bytes, and text/plain for a script', async () => {
      const response = await get(`/v1/samples/${tiny.sha256}`);
      expect(response.json()).toMatchObject({
        ssdeep: expectedOf(tiny.bytes).ssdeep,
        tlsh: null,
        type: 'text/plain',
      });
    });
  });
});

describe('GET /v1/samples/{hash}/similar', () => {
  describe('when a near-identical sample is uploaded after the index has loaded', () => {
    it('lists it among the similar samples of the first, by its upload alone', async () => {
      const before = await get(`/v1/samples/${pdf.sha256}/similar`);
      expect(before.statusCode, before.body).toBe(200);
      // A few bytes apart, its magic number among them (so the type filter's tests never see it).
      const variantBytes = Buffer.from(pdf.bytes);
      for (const at of [0, 1000, 150_000, 290_000]) variantBytes[at] = variantBytes[at]! ^ 0xff;
      const uploaded = await submitSample(h.app, productToken, zurichInstallation, 'y.pdf', variantBytes);
      expect(uploaded.statusCode, uploaded.body).toBe(201);
      const variant = uploaded.json().sha256 as string;
      expect(before.json().samples.map((s: { sha256: string }) => s.sha256)).not.toContain(variant);

      const after = await get(`/v1/samples/${pdf.sha256}/similar`);
      expect(after.statusCode, after.body).toBe(200);
      expect(after.json().tlsh).toBe(expectedOf(pdf.bytes).tlsh);
      const found = after.json().samples.find((s: { sha256: string }) => s.sha256 === variant);
      expect(found, after.body).toMatchObject({ site: 'zurich', tlsh: expectedOf(variantBytes).tlsh });
      expect(found.distance).toBeLessThan(50);
    });
  });
  describe('when the backfill gives a sample its fingerprint', () => {
    it('lists it among the similar samples once its row is filled', async () => {
      const zurich = h.glasshouse.sites.get('zurich')!;
      const variantBytes = Buffer.from(pdf.bytes);
      for (const at of [0, 2000, 200_000]) variantBytes[at] = variantBytes[at]! ^ 0x55;
      const uploaded = await submitSample(h.app, productToken, zurichInstallation, 'z.pdf', variantBytes);
      expect(uploaded.statusCode, uploaded.body).toBe(201);
      const variant = uploaded.json().sha256 as string;
      // As if stored before fingerprints: the query finds the row changed and drops it.
      const db = new Database(join(h.dataDir, 'sites', 'zurich', 'site.db'), { fileMustExist: true });
      try {
        db.prepare('UPDATE samples SET ssdeep = NULL, tlsh = NULL, file_type = NULL WHERE sha256 = ?').run(
          variant,
        );
      } finally {
        db.close();
      }
      const similarTo = async () =>
        (await get(`/v1/samples/${pdf.sha256}/similar`))
          .json()
          .samples.map((s: { sha256: string }) => s.sha256);
      expect(await similarTo()).not.toContain(variant);

      await new Promise<void>((resolve) => {
        const backfill = zurich.vault.fingerprintBackfill({
          onProgress: (progress) => {
            if (progress.done >= 1) void backfill.stop().then(resolve);
          },
        });
        backfill.start();
      });
      expect(await similarTo()).toContain(variant);
    });
  });
});

describe('GET /v1/samples?type=', () => {
  describe('when a type is given', () => {
    it('lists only the samples of that type, with their type', async () => {
      const response = await get('/v1/samples?type=application/pdf');
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json().samples).toMatchObject([{ sha256: pdf.sha256, type: 'application/pdf' }]);
      expect((await get('/v1/samples?type=application/x-msdownload')).json().samples).toEqual([]);
    });

    it('never shows a token a sample of a site it may not see', async () => {
      expect((await get('/v1/samples?type=application/x-elf')).json().samples).toMatchObject([
        { sha256: elf.sha256, site: 'moscow' },
      ]);
      const zurichOnly = await get('/v1/samples?type=application/x-elf', zurichToken);
      expect(zurichOnly.statusCode).toBe(200);
      expect(zurichOnly.json().samples).toEqual([]);
    });
  });

  describe('when the type is not a media type', () => {
    it.each(['PE', 'application', 'application/x-msdownload; q=1', 'Application/PDF'])(
      'refuses %s with 400 and changes nothing',
      async (type) => {
        const response = await get(`/v1/samples?type=${encodeURIComponent(type)}`);
        expect(response.statusCode).toBe(400);
        expect(response.json().code).toBeTypeOf('string');
      },
    );
  });
});

describe('glasshouse samples show', () => {
  it("prints the sample's fuzzy hashes and type, as text and as JSON", async () => {
    const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const args = ['samples', 'show', pdf.sha256, '--url', url, '--token', analystToken];
    const json = await runCliAsync([...args, '--json']);
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ...expectedOf(pdf.bytes), type: 'application/pdf' });
    const text = await runCliAsync(args);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toContain(`ssdeep  ${expectedOf(pdf.bytes).ssdeep}`);
    expect(text.stdout).toContain('type    application/pdf');
    const hidden = await runCliAsync(['samples', 'show', elf.sha256, '--url', url, '--token', zurichToken]);
    expect(hidden.status).toBe(1);
  }, 120_000);
});
