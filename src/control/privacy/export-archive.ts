import { Readable } from 'node:stream';
import { ZipWriter } from '@zip.js/zip.js';
import type { Actor } from '../../ports/audit-sink.js';
import type { InstallationRecords, SiteClient } from '../../ports/site-client.js';
import type { Installation } from '../residency/installation-registry.js';
import { SAMPLE_ZIP_PASSWORD } from '../samples/sample-zip.js';

/** AES-256 (zip.js `encryptionStrength` 3, WinZip AE-2), as every sample archive. */
const AES_256 = 3;

/** `export.json`: everything held about the installation, machine-readable. */
export interface ExportDocument {
  readonly format: 'glasshouse-privacy-export/v1';
  readonly generatedAt: string;
  readonly installation: Installation;
  /** One entry per site that holds anything of it (`SiteClient.installationRecords`). */
  readonly sites: readonly InstallationRecords[];
}

/** Reads what every site holds about the installation. */
export async function collectRecords(
  installationId: string,
  sites: ReadonlyMap<string, SiteClient>,
): Promise<InstallationRecords[]> {
  const found: InstallationRecords[] = [];
  for (const site of sites.values()) {
    const records = await site.installationRecords(installationId);
    if (records !== undefined) found.push(records);
  }
  return found;
}

/**
 * The export as one AES-256 zip (password `infected`): `export.json`, then each file the
 * installation submitted as `samples/<sha256>`, streamed from its site one at a time.
 *
 * @example
 * await pipeline(exportArchive(document, sites, actor), reply.raw);
 */
export function exportArchive(
  document: ExportDocument,
  sites: ReadonlyMap<string, SiteClient>,
  actor: Actor,
): Readable {
  const archive = new TransformStream<Uint8Array, Uint8Array>();
  const output = Readable.fromWeb(archive.readable);
  writeExport(document, sites, actor, archive.writable).catch((error: unknown) => {
    output.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  return output;
}

async function writeExport(
  document: ExportDocument,
  sites: ReadonlyMap<string, SiteClient>,
  actor: Actor,
  destination: WritableStream<Uint8Array>,
): Promise<void> {
  const zip = new ZipWriter(destination, { useWebWorkers: false });
  const json = Buffer.from(`${JSON.stringify(document, null, 2)}\n`, 'utf8');
  await zip.add('export.json', Readable.toWeb(Readable.from([json])) as ReadableStream<Uint8Array>, {
    password: SAMPLE_ZIP_PASSWORD,
    encryptionStrength: AES_256,
  });
  const seen = new Set<string>();
  for (const records of document.sites) {
    const site = sites.get(records.site);
    if (site === undefined) continue;
    for (const submission of records.submissions) {
      if (seen.has(submission.sha256)) continue;
      seen.add(submission.sha256);
      const plaintext = await site.openSampleForDownload(submission.sha256, actor);
      await zip.add(`samples/${submission.sha256}`, pullFrom(plaintext), {
        password: SAMPLE_ZIP_PASSWORD,
        encryptionStrength: AES_256,
        level: 0,
        uncompressedSize: submission.size,
      });
    }
  }
  await zip.close();
}

/** A web stream that reads the Node stream only as fast as zip.js asks (see sample-zip.ts). */
function pullFrom(source: Readable): ReadableStream<Uint8Array> {
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await chunks.next();
        if (next.done === true) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel() {
        await chunks.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}
