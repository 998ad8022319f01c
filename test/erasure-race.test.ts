import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './support/harness.js';
import { registerInstallation, submitSample } from './support/installations.js';

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

async function submit(installation: string, body: Buffer): Promise<number> {
  return (await submitSample(h.app, product, installation, 'same.exe', body)).statusCode;
}

describe('an erasure racing an upload of the same file', () => {
  it('never leaves an acknowledged sample without its bytes', async () => {
    for (let trial = 0; trial < 12; trial += 1) {
      const erased = await registerInstallation(h.app, product, 'DE');
      const other = await registerInstallation(h.app, product, 'DE');
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
