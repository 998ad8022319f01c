import type { Readable } from 'node:stream';
import type { SampleAtSite, StoredSample } from '../../ports/samples.js';
import type { SiteClient } from '../../ports/site-client.js';
import { parseSampleHash } from '../../shared/sample-hash.js';
import { askAvailableSites, SiteUnavailableError } from '../../shared/site-errors.js';
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
  /** The media type from the magic bytes (null until the site has fingerprinted the sample). */
  readonly type: string | null;
  readonly sites: readonly { site: string; firstSeen: string; lastSeen: string; submissions: number }[];
  /** Sites the caller may see that were unavailable: the sample may be there too. */
  readonly unavailableSites: readonly string[];
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
  /** Told after each sample is stored (the live hunts look for it at once). */
  readonly onStored?: () => void;
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
    request: { installationId: string; filename: string; body: Readable; size?: number | undefined },
  ): Promise<StoredSample> {
    const leave = await this.#o.gate?.enter([request.installationId]);
    try {
      const installation = await this.#o.registry.get(request.installationId);
      const site = this.#site(principal, installation.site);
      const stored = await site.storeSample({
        installationId: installation.id,
        filename: request.filename,
        product: installation.product,
        body: request.body,
        ...(request.size === undefined ? {} : { size: request.size }),
      });
      this.#o.onStored?.();
      return stored;
    } finally {
      leave?.();
    }
  }

  /**
   * The sample's hashes and the sites holding it. A site away does not stop the answer when
   * another holds the sample (`unavailableSites` names it); when none that answered does, it
   * is SITE_UNAVAILABLE, not "not found".
   */
  async describe(principal: Principal, hashText: string): Promise<SampleDescription> {
    const { found, away } = await this.#findEverywhere(principal, hashText);
    const [first] = found;
    if (first === undefined) throw notFoundOrAway(away);
    return {
      sha256: first.sha256,
      sha1: first.sha1,
      md5: first.md5,
      sha512: first.sha512,
      size: first.size,
      ssdeep: found.find((s) => s.ssdeep !== null)?.ssdeep ?? null,
      tlsh: found.find((s) => s.tlsh !== null)?.tlsh ?? null,
      type: found.find((s) => s.fileType !== null)?.fileType ?? null,
      sites: found.map((s) => ({
        site: s.site,
        firstSeen: s.firstSeen,
        lastSeen: s.lastSeen,
        submissions: s.submissions,
      })),
      unavailableSites: away,
    };
  }

  /**
   * The sample as an AES-256 zip (password `infected`); the download is logged at the site
   * first. It comes from a site that holds it and answers: a site away matters only when no
   * other holds it (or it is the site asked for).
   */
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
    const { found, away } = await this.#findEverywhere(principal, hashText, siteName);
    const [chosen] = found;
    if (chosen === undefined) throw notFoundOrAway(away);
    const site = this.#site(principal, chosen.site);
    const plaintext = await site.openSampleForDownload(chosen.sha256, actorOf(principal));
    return {
      sha256: chosen.sha256,
      site: chosen.site,
      zip: zipSample(plaintext, { entryName: chosen.sha256, size: chosen.size }),
    };
  }

  /** Where the sample is, among the sites the caller may see (or the one named) that answer. */
  async #findEverywhere(
    principal: Principal,
    hashText: string,
    siteName?: string,
  ): Promise<{ found: SampleAtSite[]; away: readonly string[] }> {
    const hash = parseSampleHash(hashText);
    const visible = visibleSites(principal, this.#o.sites).filter(
      (s) => siteName === undefined || s.name === siteName,
    );
    const { answers, away } = await askAvailableSites(visible, (s) => s.findSample(hash));
    const found = answers.map((a) => a.value).filter((a): a is SampleAtSite => a !== undefined);
    return { found, away };
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

/** Not found where we could look: "not found" only when every site answered. */
function notFoundOrAway(away: readonly string[]): Error {
  return away.length > 0
    ? new SiteUnavailableError(away)
    : new VaultError('SAMPLE_NOT_FOUND', 'no sample with that hash at your sites');
}

function isGone(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SAMPLE_NOT_FOUND' || code === 'BLOB_NOT_FOUND';
}
