import { describe, expect, it } from 'vitest';
import { clientKey, TrustedProxies } from './client-address.js';

describe('TrustedProxies', () => {
  describe('when no proxy is configured', () => {
    it('trusts no peer, loopback included', () => {
      const none = new TrustedProxies([]);
      expect(none.has('127.0.0.1')).toBe(false);
      expect(none.has('::1')).toBe(false);
    });
  });

  describe('when addresses and CIDRs are configured', () => {
    const trusted = new TrustedProxies(['10.0.0.0/8', '192.0.2.10', '2001:db8::/32']);

    it('trusts peers inside them, IPv4 clients of a dual-stack socket included', () => {
      expect(trusted.has('10.1.2.3')).toBe(true);
      expect(trusted.has('192.0.2.10')).toBe(true);
      expect(trusted.has('::ffff:10.1.2.3')).toBe(true);
      expect(trusted.has('2001:db8:1::5')).toBe(true);
    });

    it('trusts no peer outside them', () => {
      expect(trusted.has('11.0.0.1')).toBe(false);
      expect(trusted.has('192.0.2.11')).toBe(false);
      expect(trusted.has('::ffff:192.0.2.11')).toBe(false);
      expect(trusted.has('2001:db9::1')).toBe(false);
    });
  });
});

describe('clientKey', () => {
  it('counts an IPv4 client alike whether the socket is IPv4 or dual-stack', () => {
    expect(clientKey('::ffff:192.0.2.1')).toBe(clientKey('192.0.2.1'));
  });

  it('counts the addresses of one IPv6 /64 as one client, and another /64 apart', () => {
    expect(clientKey('2001:db8:0:1::1')).toBe(clientKey('2001:db8:0:1:ffff::2'));
    expect(clientKey('2001:db8:0:2::1')).not.toBe(clientKey('2001:db8:0:1::1'));
  });
});
