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
