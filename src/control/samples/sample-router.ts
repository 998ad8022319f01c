import type { Readable } from 'node:stream';
import type { SampleAtSite, StoredSample } from '../../ports/samples.js';
import type { SiteClient } from '../../ports/site-client.js';
import { parseSampleHash } from '../../shared/sample-hash.js';
import { VaultError } from '../../shared/vault-errors.js';
import { actorOf, type Principal } from '../auth/roles.js';
import { assertSiteAccess, visibleSites } from '../auth/site-scope.js';
import type { WriteGate } from '../relocation/write-gate.js';
import type { InstallationRegistry } from '../residency/installation-registry.js';
import { zipSample } from './sample-zip.js';

export interface SampleDescription {
  readonly sha256: string;
  readonly sha1: string;
  readonly md5: string;
  readonly sha512: string;
  readonly size: number;
  readonly ssdeep: string | null;
  readonly tlsh: string | null;
  readonly sites: readonly { site: string; firstSeen: string; lastSeen: string; submissions: number }[];
}

export interface SampleDownload {
  readonly sha256: string;
  readonly site: string;
  readonly zip: Readable;
}

export interface SampleRouterOptions {
  readonly registry: InstallationRegistry;
  readonly sites: ReadonlyMap<string, SiteClient>;
  /** Keeps an upload from crossing its installation's switch to another site (relocation). */
  readonly gate?: WriteGate;
}

/**
 * The control plane's side of the vault: sends each submission to the site of its
 * installation and answers reads from the sites the caller's token may see. It holds no
 * sample bytes itself.
 */
export class SampleRouter {
  readonly #o: SampleRouterOptions;

  constructor(options: SampleRouterOptions) {
    this.#o = options;
  }

  async submit(
    principal: Principal,
    request: { installationId: string; filename: string; body: Readable },
  ): Promise<StoredSample> {
    const leave = await this.#o.gate?.enter([request.installationId]);
    try {
      const installation = await this.#o.registry.get(request.installationId);
      const site = this.#site(principal, installation.site);
      return await site.storeSample({
        installationId: installation.id,
        filename: request.filename,
        product: installation.product,
        body: request.body,
      });
    } finally {
      leave?.();
    }
  }

  async describe(principal: Principal, hashText: string): Promise<SampleDescription> {
    const found = await this.#findEverywhere(principal, hashText);
    const [first] = found;
    if (first === undefined)
      throw new VaultError('SAMPLE_NOT_FOUND', 'no sample with that hash at your sites');
    return {
      sha256: first.sha256,
      sha1: first.sha1,
      md5: first.md5,
      sha512: first.sha512,
      size: first.size,
      ssdeep: found.find((s) => s.ssdeep !== null)?.ssdeep ?? null,
      tlsh: found.find((s) => s.tlsh !== null)?.tlsh ?? null,
      sites: found.map((s) => ({
        site: s.site,
        firstSeen: s.firstSeen,
        lastSeen: s.lastSeen,
        submissions: s.submissions,
      })),
    };
  }

  /** The sample as an AES-256 zip (password `infected`); the download is logged at the site first. */
  async download(principal: Principal, hashText: string, siteName?: string): Promise<SampleDownload> {
    try {
      return await this.#download(principal, hashText, siteName);
    } catch (error) {
      // A relocation may have purged the copy we found between the search and the read:
      // search again, and the sample is found where it is now.
      if (!isGone(error)) throw error;
      return this.#download(principal, hashText, siteName);
    }
  }

  async #download(principal: Principal, hashText: string, siteName?: string): Promise<SampleDownload> {
    if (siteName !== undefined) this.#site(principal, siteName);
    const found = (await this.#findEverywhere(principal, hashText)).filter(
      (s) => siteName === undefined || s.site === siteName,
    );
    const [chosen] = found;
    if (chosen === undefined)
      throw new VaultError('SAMPLE_NOT_FOUND', 'no sample with that hash at your sites');
    const site = this.#site(principal, chosen.site);
    const plaintext = await site.openSampleForDownload(chosen.sha256, actorOf(principal));
    return {
      sha256: chosen.sha256,
      site: chosen.site,
      zip: zipSample(plaintext, { entryName: chosen.sha256, size: chosen.size }),
    };
  }

  async #findEverywhere(principal: Principal, hashText: string): Promise<SampleAtSite[]> {
    const hash = parseSampleHash(hashText);
    const visible = visibleSites(principal, this.#o.sites);
    const answers = await Promise.all(visible.map((s) => s.findSample(hash)));
    return answers.filter((a): a is SampleAtSite => a !== undefined);
  }

  #site(principal: Principal, name: string): SiteClient {
    const site = this.#o.sites.get(name);
    if (site === undefined) {
      throw new VaultError('SAMPLE_NOT_FOUND', `no site named ${name}`);
    }
    assertSiteAccess(principal, name);
    return site;
  }
}

function isGone(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SAMPLE_NOT_FOUND' || code === 'BLOB_NOT_FOUND';
}
