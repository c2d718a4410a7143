/**
 * The texts that a site's own server signs with the site secret (HMAC-SHA256, base64url) for
 * Rapport to believe it: here once, so that `@rapport/node` and the server cannot drift apart.
 * Each starts with its purpose and version, so that a signature made for one is never valid for
 * another.
 */

/**
 * Header that a first-party proxy (`rapportProxy()` of `@rapport/node`) adds to every call it
 * forwards: the visitor's address, vouched for by the site secret.
 *
 * @example
 * x-rapport-proxy: ip=203.0.113.9; t=1764720000; k=wk_live_123; s=Zm9v...
 */
export const PROXY_HEADER = 'x-rapport-proxy';

/** How long a proxy's signature holds, in seconds either side of the server's clock. */
export const PROXY_SIGNATURE_TTL_S = 300;

/** What a proxy signs: the visitor's IP, the time (unix seconds) and the site's write key. */
export const proxySignedText = (ip: string, t: number, writeKey: string): string =>
  `rapport-proxy-v1\n${ip}\n${t}\n${writeKey}`;

/**
 * The query of a signed click redirect, `GET /v1/r`: where it goes (`to`) and what it records.
 * `s` signs every other field, so neither the target nor the person can be changed.
 */
export interface RedirectQuery {
  /** The site's write key. */
  k: string;
  /** Target, an absolute http(s) URL. */
  to: string;
  /** Event recorded, "Link Clicked" when absent. */
  e?: string;
  /** Anonymous id or user id of the person who clicks. */
  a?: string;
  u?: string;
  /** Properties of the event, as JSON. */
  p?: string;
  /** Expiry, unix seconds. */
  x?: string;
}

/** What a redirect signs: its fields in a fixed order, absent ones as null. */
export const redirectSignedText = (q: RedirectQuery): string =>
  'rapport-redirect-v1\n' + JSON.stringify([q.k, q.to, q.e ?? null, q.a ?? null, q.u ?? null, q.p ?? null, q.x ?? null]);
