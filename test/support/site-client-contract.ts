import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entriesPath } from '../../src/ledger/merkle/index.js';
import type { Actor } from '../../src/ports/audit-sink.js';
import type { SiteClient } from '../../src/ports/site-client.js';
import { sha256 } from './files.js';

export interface OpenedSite {
  readonly client: SiteClient;
  close(): Promise<void>;
}

const ACTOR: Actor = { role: 'admin', token: 'contract-test' };

/** A telemetry row in the load format of `STATS_ROW_COLUMNS`. */
function eventRow(installation: string, type = 'detection', threat = 'Trojan.Win32.Agent'): string {
  return `${['2026-03-01 11:00:00.000', installation, type, 'CH', '', '', 'malicious', threat, 'endpoint-12', 'windows-11'].join('\u001f')}\n`;
}

/** The code of the error `action` rejects with. */
async function codeOf(action: Promise<unknown>): Promise<string | undefined> {
  try {
    await action;
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

/**
 * What every `SiteClient` does, whatever carries it: run once over the in-process `SiteNode`
 * and once over `HttpSiteClient` → site API, like Kysely runs one suite per dialect. `open`
 * gives a new, empty site each call (the relocation cases use two).
 *
 * @example
 * siteClientContract('SiteNode', async () => { const t = await openTestSite(); return { client: t.site, close: t.close }; });
 */
export function siteClientContract(label: string, open: () => Promise<OpenedSite>): void {
  describe(`SiteClient contract: ${label}`, () => {
    let opened: OpenedSite;
    let site: SiteClient;
    beforeAll(async () => {
      opened = await open();
      site = opened.client;
    }, 60_000);
    afterAll(() => opened?.close());

    async function admitted(): Promise<string> {
      const installationId = randomUUID();
      await site.admitInstallation(installationId, ACTOR);
      return installationId;
    }

    async function store(installationId: string, bytes: Buffer, filename = 'sample.exe') {
      return site.storeSample({
        installationId,
        filename,
        product: 'endpoint-12',
        body: Readable.from([bytes]),
      });
    }

    describe('when asked whether it is ready', () => {
      it('resolves', async () => {
        await expect(site.health()).resolves.toBeUndefined();
      });
    });

    describe('when a sample is stored', () => {
      it('finds it, streams the same bytes back, and counts it', async () => {
        const installationId = await admitted();
        const bytes = randomBytes(200_000);
        const before = await site.usage();
        const stored = await store(installationId, bytes, 'Rechnung für März.exe');
        expect(stored).toMatchObject({
          sha256: sha256(bytes),
          size: bytes.length,
          site: site.name,
          new: true,
        });
        const again = await store(installationId, bytes);
        expect(again.new).toBe(false);
        const found = await site.findSample({ kind: 'sha256', value: sha256(bytes) });
        expect(found).toMatchObject({ sha256: sha256(bytes), site: site.name, submissions: 2 });
        const md5 = await site.findSample({ kind: 'md5', value: stored.md5 });
        expect(md5?.sha256).toBe(stored.sha256);
        expect(await buffer(await site.openSampleForDownload(stored.sha256, ACTOR))).toEqual(bytes);
        expect(await buffer(await site.openSamplePlaintext(stored.sha256))).toEqual(bytes);
        expect(await site.usage()).toEqual({
          samples: before.samples + 1,
          bytes: before.bytes + bytes.length,
        });
        expect(await site.verifySample(stored.sha256)).toBe(true);
        expect(await site.authenticateSample(stored.sha256)).toBe(true);
      });

      it('refuses an installation the site never admitted, with SUBJECT_NOT_AT_SITE', async () => {
        expect(await codeOf(store(randomUUID(), randomBytes(64)))).toBe('SUBJECT_NOT_AT_SITE');
      });
    });

    describe('when a sample is unknown', () => {
      const unknown = 'f'.repeat(64);
      it('finds nothing', async () => {
        expect(await site.findSample({ kind: 'sha256', value: unknown })).toBeUndefined();
      });
      it('refuses a download with SAMPLE_NOT_FOUND', async () => {
        expect(await codeOf(site.openSampleForDownload(unknown, ACTOR))).toBe('SAMPLE_NOT_FOUND');
      });
      it('refuses its plaintext with the same code as in process', async () => {
        expect(await codeOf(site.openSamplePlaintext(unknown))).toBe('BLOB_NOT_FOUND');
      });
    });

    describe('when events are appended', () => {
      it('aggregates them, lists them for their installation, and erases them', async () => {
        const installationId = await admitted();
        const threat = `Contract.${randomUUID().slice(0, 8)}`;
        await site.appendEvents(Buffer.from(eventRow(installationId, 'detection', threat).repeat(3)));
        const query = {
          groupBy: ['threat'] as const,
          from: new Date('2026-03-01T00:00:00Z'),
          to: new Date('2026-03-02T00:00:00Z'),
          withThreat: true,
        };
        await expect
          .poll(async () => (await site.aggregateEvents(query)).find((g) => g.key[0] === threat), {
            timeout: 10_000,
          })
          .toEqual({ key: [threat], events: 3, installations: 1 });
        const records = await site.installationRecords(installationId);
        expect(records).toMatchObject({ site: site.name, jurisdiction: site.jurisdiction, submissions: [] });
        expect(records?.events).toHaveLength(3);
        expect(records?.events[0]).toMatchObject({ installation: installationId, threat, country: 'CH' });
        const outside = { from: new Date('2026-04-01T00:00:00Z') };
        expect(await site.countInstallationRecords(installationId, outside)).toEqual({
          submissions: 0,
          events: 0,
        });
        expect(await site.countInstallationRecords(installationId)).toEqual({ submissions: 0, events: 3 });
        expect(await site.eraseInstallationEvents(installationId, ACTOR)).toEqual({ deleted: 3 });
        expect(await site.countInstallationRecords(installationId)).toEqual({ submissions: 0, events: 0 });
      });
    });

    describe('when an installation is erased', () => {
      it('removes its submissions and samples, then its key, idempotently', async () => {
        const installationId = await admitted();
        const bytes = randomBytes(1000);
        await store(installationId, bytes, 'personal.doc');
        const commitment = await site.commitInstallation(installationId, 'installation', installationId);
        expect(await site.commitInstallation(installationId, 'installation', installationId)).toBe(
          commitment,
        );
        expect((await site.installationRecords(installationId))?.submissions).toMatchObject([
          { sha256: sha256(bytes), filename: 'personal.doc', product: 'endpoint-12' },
        ]);
        expect(await site.eraseInstallationKey(installationId, ACTOR)).toEqual({ key: true });
        expect(await site.eraseInstallationKey(installationId, ACTOR)).toEqual({ key: false });
        expect(await site.eraseInstallationSubmissions(installationId)).toEqual({
          submissions: 1,
          samplesRemoved: [sha256(bytes)],
        });
        expect(await site.eraseInstallationSubmissions(installationId)).toEqual({
          submissions: 0,
          samplesRemoved: [],
        });
        expect(await site.installationRecords(installationId)).toBeUndefined();
        expect(await site.countInstallationRecords(installationId)).toBeUndefined();
        expect(await codeOf(site.commitInstallation(installationId, 'installation', installationId))).toBe(
          'SUBJECT_NOT_AT_SITE',
        );
        expect(await codeOf(site.eraseInstallationEvents(installationId, ACTOR))).toBe('SUBJECT_NOT_AT_SITE');
      });
    });

    describe('when an installation moves to another site', () => {
      let target: OpenedSite;
      beforeAll(async () => {
        target = await open();
      }, 60_000);
      afterAll(() => target?.close());

      it('copies its records and samples, verifies them there, and purges the source', async () => {
        const installationId = await admitted();
        const samples = [randomBytes(70_000), randomBytes(10)];
        for (const [i, bytes] of samples.entries()) await store(installationId, bytes, `file-${i}.bin`);
        await site.appendEvents(Buffer.from(eventRow(installationId)));
        await expect
          .poll(async () => (await site.inventoryInstallation(installationId)).events.count)
          .toBe(1);
        const records = await site.exportInstallation(installationId);
        expect(records.submissions).toHaveLength(2);
        expect(records.samples.map((s) => s.sha256).sort()).toEqual(samples.map(sha256).sort());
        const inventory = await site.inventoryInstallation(installationId);
        expect(inventory).toMatchObject({ installationId, key: true, samples: { count: 2 } });

        for (const sample of records.samples) {
          const copied = await target.client.importSample(
            sample,
            await site.openSamplePlaintext(sample.sha256),
          );
          expect(copied).toEqual({ copied: true });
          const again = await target.client.importSample(
            sample,
            await site.openSamplePlaintext(sample.sha256),
          );
          expect(again).toEqual({ copied: false });
        }
        await target.client.importInstallation(records, { submissions: true, events: true });
        await target.client.importInstallation(records, { submissions: true, events: true });
        expect(await target.client.inventoryInstallation(installationId)).toEqual(inventory);
        for (const sample of records.samples) {
          expect(await target.client.verifySample(sample.sha256)).toBe(true);
          expect(await target.client.authenticateSample(sample.sha256)).toBe(true);
        }

        const entry = {
          relocation: randomUUID(),
          batch: 1,
          source: site.name,
          target: target.client.name,
          installationIds: [installationId],
          installations: 1,
          submissions: 2,
          samples: 2,
          bytes: samples[0]!.length + samples[1]!.length,
          events: 1,
        };
        await target.client.recordRelocation({ ...entry, kind: 'received' }, ACTOR);
        expect(await site.purgeInstallations([installationId])).toEqual({
          installations: 1,
          submissions: 2,
          samples: 2,
          bytes: entry.bytes,
          events: 1,
        });
        expect(await site.purgeInstallations([installationId])).toMatchObject({
          submissions: 0,
          samples: 0,
          events: 0,
        });
        await site.recordRelocation({ ...entry, installationIds: [], kind: 'sent' }, ACTOR);
        expect((await site.inventoryInstallation(installationId)).key).toBe(false);

        const scan = await target.client.scanResidency();
        expect(scan.site).toBe(target.client.name);
        expect(scan.installations).toContainEqual({
          id: installationId,
          key: true,
          submissions: 2,
          events: 1,
        });
        expect(scan.samples).toMatchObject({ missing: [], corrupt: [] });
      });

      it('copies a sample straight from the source site, where both are services that reach each other', async () => {
        const pull = target.client.importSampleFrom?.bind(target.client);
        const from = site.peer;
        if (pull === undefined || from === undefined) {
          // In process there is no peer to reach: the control plane pipes the plaintext itself.
          expect(site.peer).toBeUndefined();
          return;
        }
        const installationId = await admitted();
        const bytes = randomBytes(3 * 1024 * 1024 + 7);
        await store(installationId, bytes, 'pulled.bin');
        const [record] = (await site.exportInstallation(installationId)).samples;
        expect(await pull(record!, from)).toEqual({ copied: true });
        expect(await pull(record!, from)).toEqual({ copied: false });
        expect(await target.client.verifySample(record!.sha256)).toBe(true);
        expect(await target.client.authenticateSample(record!.sha256)).toBe(true);

        const missing = { ...record!, sha256: sha256(randomBytes(8)) };
        expect(await codeOf(pull(missing, from))).toBe('BLOB_NOT_FOUND');
        // A server at the source's address that holds another site's certificate.
        expect(await codeOf(pull(missing, { name: 'elsewhere', url: from.url }))).toBe(
          'SITE_IDENTITY_MISMATCH',
        );
        // A source that does not answer: the failure names it, so a relocation waits for it.
        const away = pull(missing, { name: from.name, url: 'https://127.0.0.1:9' });
        await expect(away).rejects.toMatchObject({
          code: 'SITE_UNAVAILABLE',
          details: { sites: [from.name] },
        });
        expect(await target.client.verifySample(missing.sha256)).toBe(false);
      }, 60_000);

      it('refuses a sample whose bytes do not hash to its name', async () => {
        const bytes = randomBytes(100);
        const record = {
          sha256: sha256(Buffer.from('something else')),
          sha1: '',
          md5: '',
          sha512: '',
          size: bytes.length,
          firstSeen: '2026-03-01T00:00:00.000Z',
          lastSeen: '2026-03-01T00:00:00.000Z',
        };
        await expect(target.client.importSample(record, Readable.from([bytes]))).rejects.toThrow();
        expect(await target.client.verifySample(record.sha256)).toBe(false);
      });
    });

    describe('when its log is read', () => {
      it('serves the published checkpoint and its entry bundle, and nothing for an absent file', async () => {
        await admitted();
        let size = 0;
        await expect
          .poll(
            async () => {
              const checkpoint = await site.logCheckpoint();
              size = Number(checkpoint?.split('\n')[1] ?? 0);
              return size;
            },
            { timeout: 10_000, interval: 100 },
          )
          .toBeGreaterThan(0);
        const checkpoint = await site.logCheckpoint();
        expect(checkpoint).toMatch(new RegExp(`^[^\\n]+/${site.name}\\n\\d+\\n`));
        expect((await site.readLogTile('checkpoint'))?.toString('utf8')).toBeDefined();
        const bundle = await site.readLogTile(entriesPath(0, Math.min(size, 256)));
        expect(bundle?.length).toBeGreaterThan(0);
        expect(await site.readLogTile('tile/0/999.p/1')).toBeUndefined();
        expect(await codeOf(site.readLogTile('../../site.db'))).toBe('INVALID_TILE_KEY');
      });
    });
  });
}
