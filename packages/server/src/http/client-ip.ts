import type { Context } from 'hono';
import { normalizeIp } from '../enrich/ip.js';

/**
 * The client's address: the socket's, or with `trustProxy` the left-most valid address of
 * X-Forwarded-For (what a reverse proxy in front of Rapport reports). Without `trustProxy` the
 * header is ignored, since any client can send it.
 */
export function clientIp(c: Context, trustProxy: boolean): string | null {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for');
    if (forwarded) {
      for (const part of forwarded.split(',')) {
        const ip = normalizeIp(part);
        if (ip) return ip;
      }
    }
  }
  const socket = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket;
  return socket?.remoteAddress ? normalizeIp(socket.remoteAddress) : null;
}
