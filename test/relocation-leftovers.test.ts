import { randomBytes } from 'node:crypto';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './support/harness.js';
import { filesContaining, filesUnder, idNeedles } from './support/raw-scan.js';
import {
  injectSender,
  registerInstallation,
  type Send,
  sendEvents,
  setPolicy,
  sha256,
  uploadSample,
  waitForRelocation,
} from './support/relocation.js';

/**
 * "Nothing stays behind" at a relocation's source: once an installation has moved, no raw
 * file of the source site (its database and write-ahead log, blobs, statistics, log tiles)
 * holds its id, its file names or a sample only it sent; what a remaining installation
 * still references stays.
 */
let h: Harness;
let send: Send;
let admin: string;
let product: string;

beforeAll(async () => {
  h = await startHarness({ stats: { flushIntervalMs: 100, minGroupSize: 1 } });
  send = injectSender(h.app);
  admin = await h.token('admin');
  product = await h.token('product');
});
afterAll(() => h.close());

describe('a relocation', () => {
  describe('when an installation leaves a site that keeps another', () => {
    it('leaves no raw file at the source holding the moved installation, and keeps the shared sample', async () => {
      await setPolicy(send, admin, 'moscow', { zurich: [], moscow: ['BR', 'AR'] });
      const mover = await registerInstallation(send, product, 'BR');
      const stayer = await registerInstallation(send, product, 'AR');
      expect([mover.site, stayer.site]).toEqual(['moscow', 'moscow']);
      const shared = randomBytes(200_000);
      const own = randomBytes(150_000);
      const names = [
        `mover-${randomBytes(6).toString('hex')}.exe`,
        `own-${randomBytes(6).toString('hex')}.dll`,
      ];
      await uploadSample(send, product, mover.id, shared, names[0]!);
      await uploadSample(send, product, mover.id, own, names[1]!);
      await uploadSample(send, product, stayer.id, shared, `stayer-${randomBytes(6).toString('hex')}.exe`);
      await sendEvents(send, product, mover.id, 5, new Date());
      await sendEvents(send, product, stayer.id, 3, new Date());

      const source = join(h.dataDir, 'sites', 'moscow');
      const moverNeedles = {
        ...idNeedles('moved installation', mover.id),
        ...Object.fromEntries(names.map((n) => [`file name ${n}`, Buffer.from(n, 'utf8')])),
      };
      // The scan finds the installation where it is before it moves.
      expect(filesContaining(source, idNeedles('moved installation', mover.id)).length).toBeGreaterThan(0);

      await setPolicy(send, admin, 'moscow', { zurich: ['BR'], moscow: ['AR'] });
      const started = await send('POST', '/v1/relocations', admin, {});
      expect(started.status, JSON.stringify(started.json)).toBe(202);
      const finished = await waitForRelocation(send, admin, started.json.id);
      expect(finished.state).toBe('done');
      expect((await h.glasshouse.registry.get(mover.id)).site).toBe('zurich');

      expect(filesContaining(source, moverNeedles)).toEqual([]);
      // The sample only the mover sent is gone from the source's blob store, by name too.
      const blobNames = filesUnder(source).map((f) => basename(f));
      expect(blobNames).not.toContain(sha256(own));
      // The sample the remaining installation references stays whole, and so does that installation.
      const moscow = h.glasshouse.sites.get('moscow')!;
      expect(await moscow.verifySample(sha256(shared))).toBe(true);
      expect(blobNames).toContain(sha256(shared));
      expect(filesContaining(source, idNeedles('remaining installation', stayer.id)).length).toBeGreaterThan(
        0,
      );
      // And the moved installation is whole at its new site.
      const zurich = h.glasshouse.sites.get('zurich')!;
      expect(await zurich.countInstallationRecords(mover.id)).toEqual({ submissions: 2, events: 5 });
      expect(await zurich.verifySample(sha256(own))).toBe(true);
    });
  });
});
