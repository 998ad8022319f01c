import type { Readable } from 'node:stream';
import type { TlsMaterial } from '../../pki/certificates.js';
import type { PeerSite, PeerSites } from '../../ports/site-client.js';
import { HttpSiteClient } from './http-site-client.js';

export interface HttpPeerSitesOptions {
  /** This site's own bundle: its certificate (role `site`) is what the peer admits. */
  readonly tls: TlsMaterial;
  readonly timeoutMs?: number;
}

/** Peers kept connected at once; a deployment has a handful of sites. */
const MAX_PEERS = 32;

/**
 * A site's clients to its peer sites, over mutual TLS with the site's own certificate; the
 * server at a peer's address must hold the certificate of that site of the deployment.
 *
 * @example
 * const peers = new HttpPeerSites({ tls });
 * const plaintext = await peers.openSamplePlaintext({ name: 'zurich', url: 'https://10.0.0.5:8443' }, sha256);
 */
export class HttpPeerSites implements PeerSites {
  readonly #o: HttpPeerSitesOptions;
  readonly #clients = new Map<string, HttpSiteClient>();

  constructor(options: HttpPeerSitesOptions) {
    this.#o = options;
  }

  openSamplePlaintext(peer: PeerSite, sha256: string): Promise<Readable> {
    return this.#client(peer).openSamplePlaintext(sha256);
  }

  close(): void {
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }

  #client(peer: PeerSite): HttpSiteClient {
    const key = `${peer.name} ${peer.url}`;
    let client = this.#clients.get(key);
    if (client === undefined) {
      const oldest = this.#clients.keys().next();
      if (this.#clients.size >= MAX_PEERS && oldest.done !== true) {
        this.#clients.get(oldest.value)?.close();
        this.#clients.delete(oldest.value);
      }
      client = new HttpSiteClient({
        name: peer.name,
        // Only read from: its jurisdiction is the control plane's business.
        jurisdiction: '',
        url: peer.url,
        tls: this.#o.tls,
        ...(this.#o.timeoutMs === undefined ? {} : { timeoutMs: this.#o.timeoutMs }),
      });
      this.#clients.set(key, client);
    }
    return client;
  }
}
