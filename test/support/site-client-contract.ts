import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entriesPath } from '../../src/ledger/merkle/index.js';
import type { Actor } from '../../src/ports/audit-sink.js';
import type { SiteClient } from '../../src/ports/site-client.js';
import { DEBIAN_FALSE, DEBIAN_TAIL, DEBIAN_TRUE } from './debian-digests.js';
import { sha256 } from './files.js';

export interface OpenedSite {
  readonly client: SiteClient;
  /** Gives a sample the site holds its fuzzy hashes, as the vault records them (the site's side). */
  recordFuzzyHashes(sha256: string, hashes: { ssdeep: string | null; tlsh: string | null }): Promise<unknown>;
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
        expect(await site.usage()).toMatchObject({
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

    describe('when analysts tag, comment on and search its samples', () => {
      it('keeps tags and comments, counts them, and finds the sample by its tag, newest first', async () => {
        const installationId = await admitted();
        const stored = await store(installationId, randomBytes(3000));
        const tag = `family:contract-${randomUUID().slice(0, 8)}`;
        expect(await site.tagSample(stored.sha256, tag, ACTOR)).toEqual({ changed: true });
        expect(await site.tagSample(stored.sha256, tag, ACTOR)).toEqual({ changed: false });
        const comment = {
          id: randomUUID(),
          sha256: stored.sha256,
          text: 'drops a second stage',
          createdAt: '2026-03-02T12:00:00.000Z',
          author: { role: 'analyst', token: 'contract-test' },
        };
        expect(await site.commentOnSample(comment, ACTOR)).toEqual(comment);
        expect(await site.commentOnSample(comment, ACTOR)).toEqual(comment);
        expect(await site.listSampleComments(stored.sha256, { limit: 10 })).toEqual([comment]);
        expect(
          await site.listSampleComments(stored.sha256, {
            limit: 10,
            after: { createdAt: comment.createdAt, id: comment.id },
          }),
        ).toEqual([]);
        expect(await site.sampleNotes(stored.sha256)).toEqual({ tags: [tag], comments: 1 });
        const page = await site.searchSamples({ tag, limit: 10, count: true });
        expect(page.total).toBe(1);
        expect(page.hits).toMatchObject([
          { sha256: stored.sha256, site: site.name, size: 3000, tags: [tag] },
        ]);
        const sized = await site.searchSamples({ minSize: 3000, maxSize: 3000, limit: 1000 });
        expect(sized.hits.map((h) => h.sha256)).toContain(stored.sha256);
        const key = { firstSeen: page.hits[0]!.firstSeen, sha256: stored.sha256 };
        expect(
          (await site.searchSamples({ tag, limit: 10, before: { ...key, inclusive: true } })).hits,
        ).toHaveLength(1);
        expect(
          (await site.searchSamples({ tag, limit: 10, before: { ...key, inclusive: false } })).hits,
        ).toEqual([]);
        expect(await site.untagSample(stored.sha256, tag, ACTOR)).toEqual({ changed: true });
        expect(await site.sampleNotes(stored.sha256)).toEqual({ tags: [], comments: 1 });
      });

      it('refuses to tag or comment on a sample it does not hold, with SAMPLE_NOT_FOUND', async () => {
        const unknown = 'e'.repeat(64);
        expect(await codeOf(site.tagSample(unknown, 'packed', ACTOR))).toBe('SAMPLE_NOT_FOUND');
        const comment = {
          id: randomUUID(),
          sha256: unknown,
          text: 'x',
          createdAt: '2026-03-02T12:00:00.000Z',
          author: { role: 'analyst', token: 't' },
        };
        expect(await codeOf(site.commentOnSample(comment, ACTOR))).toBe('SAMPLE_NOT_FOUND');
      });

      it('refuses a malformed tag with INVALID_TAG, and finds a sample by its file type', async () => {
        const stored = await store(
          await admitted(),
          Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(300)]),
        );
        expect(await codeOf(site.tagSample(stored.sha256, 'Not A Tag', ACTOR))).toBe('INVALID_TAG');
        const found = await site.searchSamples({ type: 'application/pdf', limit: 1000 });
        expect(found.hits.map((h) => [h.sha256, h.type])).toContainEqual([stored.sha256, 'application/pdf']);
        const described = await site.findSample({ kind: 'sha256', value: stored.sha256 });
        expect(described).toMatchObject({
          fileType: 'application/pdf',
          tlsh: expect.stringMatching(/^T1[0-9A-F]{70}$/),
        });
      });
    });

    describe('when asked for the samples nearest a TLSH digest', () => {
      const TRUE = DEBIAN_TRUE;
      const FALSE = DEBIAN_FALSE;
      const TAIL = DEBIAN_TAIL;

      it('answers them nearest first with their distance and ssdeep score, and forgets a purged one', async () => {
        const installationId = await admitted();
        const [a, b, c] = [randomBytes(900), randomBytes(901), randomBytes(902)];
        const stored = [
          await store(installationId, a),
          await store(installationId, b),
          await store(installationId, c),
        ];
        await opened.recordFuzzyHashes(stored[0]!.sha256, TRUE);
        await opened.recordFuzzyHashes(stored[1]!.sha256, FALSE);
        await opened.recordFuzzyHashes(stored[2]!.sha256, TAIL);
        const ours = new Set(stored.map((s) => s.sha256));
        const query = { tlsh: TRUE.tlsh, ssdeep: TRUE.ssdeep, exclude: stored[0]!.sha256 };
        const near = await site.similarSamples({ ...query, maxDistance: 300, limit: 100 });
        expect(near.filter((n) => ours.has(n.sha256))).toEqual([
          {
            sha256: stored[1]!.sha256,
            sha1: stored[1]!.sha1,
            md5: stored[1]!.md5,
            sha512: stored[1]!.sha512,
            size: 901,
            tlsh: FALSE.tlsh,
            ssdeep: FALSE.ssdeep,
            site: site.name,
            distance: 11,
            ssdeepScore: 80,
          },
          expect.objectContaining({ sha256: stored[2]!.sha256, distance: 158, ssdeepScore: 0 }),
        ]);
        const distances = near.map((n) => n.distance);
        expect(distances).toEqual([...distances].sort((x, y) => x - y));
        expect(
          (await site.similarSamples({ ...query, maxDistance: 10, limit: 100 })).filter((n) =>
            ours.has(n.sha256),
          ),
        ).toEqual([]);
        // Without the exclusion the sample itself is the nearest: distance 0.
        const itself = await site.similarSamples({ tlsh: TRUE.tlsh, maxDistance: 0, limit: 100 });
        expect(itself.filter((n) => ours.has(n.sha256))).toMatchObject([
          { sha256: stored[0]!.sha256, distance: 0, ssdeepScore: null },
        ]);
        await site.purgeInstallations([installationId]);
        const after = await site.similarSamples({ tlsh: TRUE.tlsh, maxDistance: 300, limit: 100 });
        expect(after.filter((n) => ours.has(n.sha256))).toEqual([]);
      });

      it('refuses what is not a TLSH digest with INVALID_TLSH', async () => {
        expect(await codeOf(site.similarSamples({ tlsh: 'TNULL', maxDistance: 100, limit: 10 }))).toBe(
          'INVALID_TLSH',
        );
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
        expect(await target.client.importInstallation(records, { submissions: true, events: true })).toEqual(
          inventory,
        );
        // A repeat replaces, never duplicates, and answers the same inventory.
        expect(await target.client.importInstallation(records, { submissions: true, events: true })).toEqual(
          inventory,
        );
        expect(
          await target.client.importInstallation(records, { submissions: false, events: false }),
        ).toEqual(inventory);
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
        // Held already: the target answers without asking the peer (here one that is not there).
        const nowhere = { name: from.name, url: 'https://127.0.0.1:9' };
        expect(await pull(record!, nowhere)).toEqual({ copied: false });
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

      it("keeps the source's ssdeep, TLSH and file type with a copied sample, leaving the target's backfill nothing to do", async () => {
        const installationId = await admitted();
        const streamed = randomBytes(5000);
        const pulled = randomBytes(6000);
        await store(installationId, streamed, 'streamed.bin');
        await store(installationId, pulled, 'pulled.bin');
        // Fuzzy hashes the target could not compute from these bytes: found there, they were carried.
        const carried = { ssdeep: '3:carriedfromsource:carried', tlsh: `T1${'AB'.repeat(35)}` };
        for (const bytes of [streamed, pulled]) await opened.recordFuzzyHashes(sha256(bytes), carried);
        const records = await site.exportInstallation(installationId);
        const byHash = new Map(records.samples.map((s) => [s.sha256, s]));
        const source = await site.findSample({ kind: 'sha256', value: sha256(streamed) });
        expect(source?.fileType).not.toBeNull();
        expect(byHash.get(sha256(streamed))?.fingerprint).toEqual({ ...carried, fileType: source!.fileType });

        const streamedRecord = byHash.get(sha256(streamed))!;
        expect(
          await target.client.importSample(
            streamedRecord,
            await site.openSamplePlaintext(streamedRecord.sha256),
          ),
        ).toEqual({ copied: true });
        const pull = target.client.importSampleFrom?.bind(target.client);
        const pulledRecord = byHash.get(sha256(pulled))!;
        if (pull !== undefined && site.peer !== undefined) {
          expect(await pull(pulledRecord, site.peer)).toEqual({ copied: true });
        } else {
          await target.client.importSample(pulledRecord, await site.openSamplePlaintext(pulledRecord.sha256));
        }
        for (const bytes of [streamed, pulled]) {
          // A non-null file type is what the backfill skips: nothing was left for it.
          expect(await target.client.findSample({ kind: 'sha256', value: sha256(bytes) })).toMatchObject({
            ...carried,
            fileType: source!.fileType,
          });
        }
        expect((await target.client.usage()).fingerprintsPending ?? 0).toBe(0);
      });

      it('refuses a fingerprint that is not one over the wire, and stores nothing', async () => {
        const pull = target.client.importSampleFrom?.bind(target.client);
        if (pull === undefined || site.peer === undefined) return; // In process no record crosses a wire.
        const installationId = await admitted();
        const bytes = randomBytes(4000);
        await store(installationId, bytes, 'bad.bin');
        const [record] = (await site.exportInstallation(installationId)).samples;
        const bad = [
          { ssdeep: '3:abc:def', tlsh: 'T1XYZ', fileType: 'application/octet-stream' },
          { ssdeep: 'not ssdeep', tlsh: null, fileType: 'application/octet-stream' },
          { ssdeep: '3:abc:def', tlsh: null, fileType: 'not a media type' },
        ];
        for (const fingerprint of bad) {
          const wrong = { ...record!, fingerprint };
          expect(await codeOf(pull(wrong, site.peer))).toBe('VALIDATION_FAILED');
          expect(
            await codeOf(target.client.importSample(wrong, await site.openSamplePlaintext(record!.sha256))),
          ).toBe('UNSUPPORTED_MEDIA_TYPE');
        }
        expect(await target.client.findSample({ kind: 'sha256', value: record!.sha256 })).toBeUndefined();
        expect(await target.client.verifySample(record!.sha256)).toBe(false);
      });

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

    describe("when a hunt's rules are matched against its samples", () => {
      it('scans them in the order they arrived, batch by batch, then what arrives later', async () => {
        const rules = 'rule marked { strings: $m = "CONTRACT-MARK" condition: $m }';
        // From where the samples of the other cases end.
        let after = 0;
        for (let page = await site.scanSamples({ rules, after, limit: 1000 }); ; ) {
          after = page.next;
          if (page.end) break;
          page = await site.scanSamples({ rules, after, limit: 1000 });
        }
        const installationId = await admitted();
        const marked = Buffer.concat([randomBytes(1000), Buffer.from('CONTRACT-MARK')]);
        await store(installationId, marked);
        await store(installationId, randomBytes(3000));
        await store(installationId, marked);
        const first = await site.scanSamples({ rules, after, limit: 1 });
        expect(first).toMatchObject({ scanned: 1, skipped: 0, bytes: marked.length, end: false });
        expect(first.matches).toEqual([{ sha256: sha256(marked), rules: ['marked'] }]);
        const rest = await site.scanSamples({ rules, after: first.next, limit: 10 });
        // The second submission of the marked sample is no new sample.
        expect(rest).toMatchObject({ scanned: 1, bytes: 3000, matches: [], end: true });
        const later = Buffer.concat([Buffer.from('CONTRACT-MARK'), randomBytes(10)]);
        await store(installationId, later);
        const live = await site.scanSamples({ rules, after: rest.next, limit: 10 });
        expect(live.matches).toEqual([{ sha256: sha256(later), rules: ['marked'] }]);
        expect(await site.scanSamples({ rules, after: live.next, limit: 10 })).toMatchObject({
          scanned: 0,
          next: live.next,
          end: true,
        });
      });

      it('refuses rules that do not compile with INVALID_YARA_RULES and the line, as in process', async () => {
        const error = await site
          .scanSamples({ rules: 'rule x {\n condition: \n}', after: 0, limit: 1 })
          .catch((e: unknown) => e as { code?: string; details?: { line?: number } });
        expect(error).toMatchObject({ code: 'INVALID_YARA_RULES', details: { line: 3 } });
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
