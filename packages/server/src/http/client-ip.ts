import { BlockList, isIP } from 'node:net';
import type { Context } from 'hono';
import { normalizeIp } from '../enrich/ip.js';

/**
 * Which reverse proxies in front of Rapport to believe: a hop count (`1`: the socket's peer is
 * your proxy), or the addresses and CIDR ranges your proxies have. `true` means one hop.
 */
export type TrustProxy = boolean | number | string[];

/** A `TrustProxy` made ready for every request: a hop count, or a set of proxy addresses. */
export type TrustedProxies = { hops: number } | { proxies: BlockList };

/**
 * Reads a `TrustProxy` once, at startup; null when no proxy is trusted. Throws on a value that
 * is no hop count and no address or CIDR range, naming it.
 *
 * @example
 * trustedProxies(['10.0.0.0/8', '::1']); // { proxies: BlockList }
 * trustedProxies(2); // { hops: 2 }
 */
export function trustedProxies(trust: TrustProxy | undefined): TrustedProxies | null {
  if (trust === undefined || trust === false || trust === 0) return null;
  if (trust === true) return { hops: 1 };
  if (typeof trust === 'number') {
    if (!Number.isInteger(trust) || trust < 0 || trust > 20) throw new RangeError(`trustProxy: ${trust} is not a hop count from 0 to 20`);
    return { hops: trust };
  }
  const proxies = new BlockList();
  for (const entry of trust) {
    const [address, bits, extra] = entry.trim().split('/');
    const family = isIP(address);
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
    if (!family || extra !== undefined || !(prefix >= 0 && prefix <= (family === 6 ? 128 : 32))) {
      throw new RangeError(`trustProxy: "${entry}" is not an IP address or CIDR range`);
    }
    proxies.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return { proxies };
}

/** Longest X-Forwarded-For chain read: past it, the left part is what clients wrote anyway. */
const MAX_HOPS_READ = 32;

/**
 * The client's address. Without trusted proxies, the socket's: X-Forwarded-For is ignored, since
 * any client can send it. Behind trusted proxies, X-Forwarded-For is read from the right, where
 * each proxy appends the address it saw: the client is the right-most address that is not one of
 * your proxies (or, with a hop count, the one that many hops in). Entries further left were written
 * by the client itself, so a forged prefix changes nothing.
 */
export function clientIp(c: Context, trusted: TrustedProxies | null): string | null {
  const socket = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket;
  const peer = socket?.remoteAddress ? normalizeIp(socket.remoteAddress) : null;
  const forwarded = trusted ? c.req.header('x-forwarded-for') : undefined;
  if (!trusted || !forwarded || !peer) return peer;
  const chain = forwarded.split(',').slice(-MAX_HOPS_READ);
  let client = peer;
  for (let hop = 0; ; hop++) {
    const isProxy = 'hops' in trusted ? hop < trusted.hops : trusted.proxies.check(client, isIP(client) === 6 ? 'ipv6' : 'ipv4');
    if (!isProxy || chain.length === 0) return client;
    const next = normalizeIp(chain.pop()!);
    // A malformed entry ends what the proxies vouch for: the last good address is the client.
    if (!next) return client;
    client = next;
  }
}

/**
 * The key that limits and throttles count a client under: an IPv4 address itself, an IPv6
 * address by its /64, the block that one subscriber (one home, one phone) is given and can
 * pick any address within; counting those one by one would give every client 2^64 fresh starts.
 * `unknown` when the address is (an in-process request has no socket).
 *
 * @example
 * clientKey('203.0.113.9') // '203.0.113.9'
 * clientKey('2001:db8:1:2:aaaa::1') // '2001:db8:1:2::/64'
 */
export function clientKey(ip: string | null): string {
  if (!ip) return 'unknown';
  if (isIP(ip) !== 6) return ip;
  // An embedded IPv4 tail (64:ff9b::192.0.2.1) is two groups; they lie right of the /64 anyway.
  const hex = ip.replace(/\d+\.\d+\.\d+\.\d+$/, '0:0');
  const [head, tail = ''] = hex.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
