import type { Readable } from 'node:stream';
import type { Actor } from '../ledger/audit-sink.js';
import type { SampleHash } from '../vault/sample-hash.js';
import type { SampleAtSite, SampleSubmission, StoredSample } from '../vault/vault-service.js';

/**
 * How the control plane reaches a site. In `glasshouse up` it is an in-process call; at
 * scale an HTTP client to a site in another jurisdiction implements the same interface,
 * so the control plane never knows (or cares) where a site runs.
 *
 * @example
 * const stored = await sites.get('zurich').storeSample({ installationId, filename, product, body });
 */
export interface SiteClient {
  readonly name: string;
  readonly jurisdiction: string;
  /** Creates the installation's data key at the site (idempotent) and logs it, committed. */
  admitInstallation(installationId: string, actor: Actor): Promise<void>;
  storeSample(submission: SampleSubmission): Promise<StoredSample>;
  findSample(hash: SampleHash): Promise<SampleAtSite | undefined>;
  /** Records the download at the site, then streams the plaintext. */
  openSampleForDownload(sha256: string, actor: Actor): Promise<Readable>;
  usage(): Promise<{ samples: number; bytes: number }>;
}
