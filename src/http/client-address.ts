import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { normalizeIP } from '@fastify/rate-limit';

/**
 * The load balancers whose `X-Forwarded-For` is believed (`server.trustProxy`), as a set of
 * addresses and CIDRs. Fastify takes the same list (`trustProxy`) to work out `request.ip`;
 * this copy answers, without a request object, whether a socket's peer is one of them.
 */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly entries: readonly string[];

  constructor(entries: readonly string[]) {
    this.entries = entries;
    for (const entry of entries) {
      const [address = '', bits] = entry.split('/');
      const type = isIPv6(address) ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.#list.addAddress(address, type);
      else this.#list.addSubnet(address, Number(bits), type);
    }
  }

  /** True when the peer (a socket's `remoteAddress`) is a trusted proxy. */
  has(peer: string): boolean {
    if (this.entries.length === 0) return false;
    const plain = plainAddress(peer);
    return this.#list.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6');
  }
}

/** `::ffff:192.0.2.1` (an IPv4 client of a dual-stack socket) as `192.0.2.1`. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/**
 * The key that counts one client: its IPv4 address, or its IPv6 /64 (one subscriber's
 * network; a single host can take any address in it). Shared by every limit, so that the
 * look-up fast path, the connection cap and the rate limits count the same client alike.
 */
export function clientKey(address: string): string {
  return normalizeIP(address);
}
