import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { ZipWriter } from '@zip.js/zip.js';
import type { TokenService } from '../../control/auth/token-service.js';
import type { LegalDesk } from '../../control/legal/legal-desk.js';
import type { PrivacyDesk } from '../../control/privacy/privacy-desk.js';
import type { ResidencyAuditService } from '../../control/relocation/residency-audit-service.js';
import type { PublishedLog } from '../../ledger/published-log.js';
import { syncDirectory, writeDurably } from '../backup/make-backup.js';
import type { KeyRecord } from '../keys/key-inventory.js';
import { EvidenceError } from './evidence-errors.js';
import { assemblePack, type EvidencePack } from './evidence-pack.js';
import { type EvidencePeriod, inPeriod } from './evidence-period.js';
import {
  accessReview,
  backups,
  checkpointSection,
  keyInventory,
  legalRequests,
  privacyRequests,
  residency,
  sectionOfEntry,
} from './evidence-sections.js';
import { collectLogEvidence, type ProvenEntry } from './log-evidence.js';

export interface EvidenceServiceOptions {
  readonly deployment: string;
  readonly tokens: Pick<TokenService, 'list'>;
  readonly legal: Pick<LegalDesk, 'list'>;
  readonly privacy: Pick<PrivacyDesk, 'list'>;
  readonly residencyAudit: Pick<ResidencyAuditService, 'run'>;
  /** The keys of the data directory this process runs on, as at a time. */
  readonly keys: (now: Date) => readonly KeyRecord[];
  /** Every node's published log. */
  readonly logs: ReadonlyMap<string, PublishedLog>;
  /** A node's verifier key where this process holds it (the nodes of its data directory). */
  readonly verifierKey: (node: string) => string | undefined;
  readonly now: () => Date;
}

/**
 * The evidence pack an ISO/IEC 27001 auditor samples (docs/operations.md, "Evidence pack"):
 * the records of each control, read from the desks, the token store, the key files and a
 * residency audit run now, each with the log entries of the period that prove it, proven at
 * each node's latest checkpoint.
 *
 * @example
 * const pack = await evidence.build(parseEvidencePeriod('2026-01-01', '2026-06-30'));
 */
export class EvidenceService {
  readonly #o: EvidenceServiceOptions;

  constructor(options: EvidenceServiceOptions) {
    this.#o = options;
  }

  async build(period: EvidencePeriod): Promise<EvidencePack> {
    const now = this.#o.now();
    const log = await collectLogEvidence({
      logs: this.#o.logs,
      verifierKey: this.#o.verifierKey,
      select: (_node, entry) =>
        sectionOfEntry(entry.type) !== undefined && inPeriod(period, entry.time as string),
    });
    const proving = (section: string): ProvenEntry[] =>
      log.entries.filter((e) => sectionOfEntry(e.entry.type) === section);
    const sections = [
      await accessReview(this.#o.tokens, period, proving('access-review')),
      keyInventory(this.#o.keys(now), proving('keys')),
      backups(proving('backups')),
      checkpointSection(log.checkpoints),
      await legalRequests(this.#o.legal, period, proving('legal-requests')),
      await privacyRequests(this.#o.privacy, period, now, proving('privacy-requests')),
      residency(await this.#o.residencyAudit.run(), proving('residency')),
    ];
    return assemblePack({
      deployment: this.#o.deployment,
      period,
      generatedAt: now.toISOString(),
      sections,
      checkpoints: log.checkpoints,
    });
  }
}

/**
 * Writes a pack as a folder: into `<out>.partial`, renamed once every file is durable, so a
 * folder named `out` is always a whole pack. An existing `out` is refused.
 */
export function writePackTo(pack: EvidencePack, out: string): void {
  if (existsSync(out)) {
    throw new EvidenceError('EVIDENCE_OUT_EXISTS', `${out} exists: a pack never overwrites another`);
  }
  const partial = `${out}.partial`;
  rmSync(partial, { recursive: true, force: true });
  for (const file of pack.files) {
    const path = join(partial, ...file.path.split('/'));
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeDurably(path, file.content);
  }
  mkdirSync(partial, { recursive: true, mode: 0o700 });
  syncDirectory(partial);
  renameSync(partial, out);
  syncDirectory(dirname(out));
}

/** The pack as one zip (no password: it holds no personal data beyond the officers' names). */
export async function zipPack(pack: EvidencePack, folder: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  const sink = new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) });
  const zip = new ZipWriter(sink, { useWebWorkers: false });
  for (const file of pack.files) {
    await zip.add(
      `${folder}/${file.path}`,
      Readable.toWeb(Readable.from([file.content])) as ReadableStream<Uint8Array>,
    );
  }
  await zip.close();
  return Buffer.concat(chunks);
}
