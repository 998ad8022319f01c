import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type Harness, startHarness } from './support/harness.js';

/*
 * An erasure removes the samples only its installation submitted; another installation may
 * upload the same file at that very moment. Whatever the interleaving, an acknowledged upload
 * must leave a sample that can be read back.
 */

let h: Harness;
let product: string;

beforeAll(async () => {
  h = await startHarness();
  product = await h.token('product');
});
afterAll(() => h.close());

async function register(): Promise<{ id: string; site: string }> {
  const response = await h.app.inject({
    method: 'POST',
    url: '/v1/installations',
    headers: bearer(product),
    payload: { country: 'DE', product: 'endpoint-12' },
  });
  expect(response.statusCode).toBe(201);
  return response.json();
}

async function submit(installation: string, body: Buffer): Promise<number> {
  const response = await h.app.inject({
    method: 'POST',
    url: `/v1/samples?installation=${installation}&filename=same.exe`,
    headers: { ...bearer(product), 'content-type': 'application/octet-stream' },
    payload: body,
  });
  return response.statusCode;
}

describe('an erasure racing an upload of the same file', () => {
  it('never leaves an acknowledged sample without its bytes', async () => {
    for (let trial = 0; trial < 12; trial += 1) {
      const erased = await register();
      const other = await register();
      const body = randomBytes(20_000 + trial * 5_000);
      const sha256 = createHash('sha256').update(body).digest('hex');
      expect(await submit(erased.id, body)).toBe(201);
      const site = h.glasshouse.sites.get(erased.site)!;
      const [, status] = await Promise.all([
        site.eraseInstallationSubmissions(erased.id),
        submit(other.id, body),
      ]);
      expect(status).toBe(201);
      const stream = await site.openSampleForDownload(sha256, { role: 'analyst', token: 'test' });
      const read = createHash('sha256');
      for await (const chunk of stream) read.update(chunk as Buffer);
      expect(read.digest('hex')).toBe(sha256);
    }
  });
});
