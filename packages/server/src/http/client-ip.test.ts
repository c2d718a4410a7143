import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { clientIp, clientKey, trustedProxies, type TrustProxy } from './client-ip.js';

/** The address clientIp finds for a request from `peer` carrying `forwarded`. */
async function ipOf(trust: TrustProxy, peer: string, forwarded?: string) {
  const app = new Hono();
  const proxies = trustedProxies(trust);
  app.get('/', (c) => c.text(String(clientIp(c, proxies))));
  const headers: Record<string, string> = forwarded === undefined ? {} : { 'x-forwarded-for': forwarded };
  const res = await app.request('/', { headers }, { incoming: { socket: { remoteAddress: peer } } });
  return res.text();
}

describe('clientIp', () => {
  it('ignores X-Forwarded-For unless a proxy is trusted', async () => {
    expect(await ipOf(false, '198.51.100.7', '203.0.113.1')).toBe('198.51.100.7');
  });

  it("takes the right-most entry, so a prefix the client wrote changes nothing", async () => {
    // The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the address it saw.
    expect(await ipOf(true, '10.0.0.2', '1.2.3.4, 203.0.113.9')).toBe('203.0.113.9');
    expect(await ipOf(1, '10.0.0.2', '5.6.7.8, 1.2.3.4, 203.0.113.9')).toBe('203.0.113.9');
    expect(await ipOf(2, '10.0.0.2', '1.2.3.4, 203.0.113.9, 10.0.0.3')).toBe('203.0.113.9');
  });

  it('walks past the configured proxies by address and CIDR range, IPv4 and IPv6', async () => {
    const proxies = ['10.0.0.0/8', '::1', '2001:db8::/32'];
    expect(await ipOf(proxies, '10.1.2.3', '1.2.3.4, 203.0.113.9, 10.0.0.3')).toBe('203.0.113.9');
    expect(await ipOf(proxies, '::1', '1.2.3.4, 2001:db8::5, 2a00:1450::1, 2001:db8::6')).toBe('2a00:1450::1');
    // A request straight from a client, not through a proxy: its own header is not believed.
    expect(await ipOf(proxies, '203.0.113.50', '1.2.3.4')).toBe('203.0.113.50');
    // Only proxies all the way: the left-most address is the best there is.
    expect(await ipOf(proxies, '10.0.0.1', '10.0.0.9')).toBe('10.0.0.9');
  });

  it('stops at a malformed entry, and reads a bounded part of a long header', async () => {
    expect(await ipOf(3, '10.0.0.2', '1.2.3.4, not-an-ip, 203.0.113.9')).toBe('203.0.113.9');
    const long = Array.from({ length: 10_000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.1`).join(', ');
    expect(await ipOf(['10.0.0.0/8'], '10.0.0.1', `1.2.3.4, ${long}`)).toMatch(/^10\./);
  });

  it('refuses what is neither a hop count nor an address', () => {
    expect(() => trustedProxies(['10.0.0.0/8', 'proxy.local'])).toThrow('"proxy.local" is not an IP address or CIDR range');
    expect(() => trustedProxies(-1)).toThrow(/hop count/);
  });
});

describe('clientKey', () => {
  it('counts an IPv4 address alone and an IPv6 address by its /64, however it is spelled', () => {
    expect(clientKey('203.0.113.9')).toBe('203.0.113.9');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002:ffff:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe(clientKey('2001:db8:0:0:ffff::'));
    expect(clientKey('::1:2:3:4:5:192.0.2.1')).toBe('0:1:2:3::/64');
    expect(clientKey('2001:db8:1:3::1')).not.toBe(clientKey('2001:db8:1:2::1'));
    expect(clientKey(null)).toBe('unknown');
  });
});
