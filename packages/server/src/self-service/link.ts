import { createHmac, timingSafeEqual } from 'node:crypto';
import { MAX_ID_LENGTH } from '@rapport/protocol';
import type { Site } from '../store/types.js';

/**
 * The links of the customer self-service page, `/me/<token>`, which the site's backend makes for
 * a logged-in customer and signs with the site secret:
 *
 *     token   = payload "." signature
 *     payload = base64url(UTF-8 JSON { "s": siteId, "u": userId, "e": expiry in Unix seconds })
 *     signature = base64url(HMAC-SHA256(key = site secret, message = SIGNING_PREFIX + payload))
 *
 * base64url without `=` padding (RFC 4648 §5). docs/self-service.md says it for other languages.
 */

/**
 * What the signature covers before the payload. The site secret also signs user ids
 * (`userHash = HMAC(secret, userId)`, handed to browsers): without a prefix, a customer whose
 * user id happened to read as a payload would be handed a valid link to someone else's page.
 * User ids never hold a control character (collect refuses them), so a newline keeps the two apart.
 */
export const SIGNING_PREFIX = 'rapport-self-service-v1\n';

/** Longer tokens are refused before anything is decoded or hashed. */
export const MAX_TOKEN_LENGTH = 2048;

/** Base64url without padding: the only characters either part may hold. */
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** An HMAC-SHA256 in base64url without padding: 32 bytes, 43 characters. */
const SIGNATURE_LENGTH = 43;
/** What collect refuses in an id (collect/validate.ts): control characters and unpaired surrogates. */
const BAD_ID_CHARS = /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export interface SelfServiceLinkInput {
  site: Pick<Site, 'id' | 'secret'>;
  /** The customer's user id, as the site sends it to Rapport. */
  userId: string;
  /** When the link stops working (kept to the second, rounded down). */
  expiresAt: Date;
}

export type TokenProblem = 'expired' | 'bad signature' | 'malformed' | 'unknown site';

export type TokenCheck = { ok: true; site: Site; userId: string; expiresAt: Date } | { ok: false; reason: TokenProblem };

/**
 * A self-service token for one customer of a site, valid until `expiresAt`. Rotating the site
 * secret invalidates every token made before.
 *
 * @example
 * const token = signSelfServiceLink({ site, userId: 'u-42', expiresAt: new Date(Date.now() + 7 * 86_400_000) });
 * const url = `https://rapport.example.com/me/${token}`;
 */
export function signSelfServiceLink(input: SelfServiceLinkInput): string {
  const e = Math.floor(input.expiresAt.getTime() / 1000);
  if (!Number.isSafeInteger(e) || e <= 0) throw new RangeError('expiresAt must be a valid date after 1970');
  if (!validUserId(input.userId)) throw new RangeError(`userId must be 1 to ${MAX_ID_LENGTH} characters without control characters`);
  const payload = Buffer.from(JSON.stringify({ s: input.site.id, u: input.userId, e })).toString('base64url');
  const token = `${payload}.${signatureOf(input.site.secret, payload)}`;
  if (token.length > MAX_TOKEN_LENGTH) throw new RangeError(`the token would be longer than ${MAX_TOKEN_LENGTH} characters`);
  return token;
}

/**
 * Checks a token: its shape, its site, its signature (compared in constant time) and then its
 * expiry, so that only a token the site really signed is ever called expired.
 *
 * @example
 * const check = verifySelfServiceToken(c.req.param('token'), ctx.sites, Date.now());
 * if (!check.ok) return denied(check.reason); // 'expired' | 'bad signature' | 'malformed' | 'unknown site'
 */
export function verifySelfServiceToken(token: string, sites: { get(id: string): Site | undefined }, now: number): TokenCheck {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 2 || !BASE64URL.test(parts[0]) || !BASE64URL.test(parts[1])) return { ok: false, reason: 'malformed' };
  const [payload, signature] = parts;
  const claims = claimsOf(payload);
  if (!claims) return { ok: false, reason: 'malformed' };
  const site = sites.get(claims.s);
  if (!site) return { ok: false, reason: 'unknown site' };
  if (signature.length !== SIGNATURE_LENGTH) return { ok: false, reason: 'bad signature' };
  // Compared as text: two encodings of one digest (the spare bits of the last character) are not both accepted.
  const expected = Buffer.from(signatureOf(site.secret, payload), 'ascii');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'ascii'))) return { ok: false, reason: 'bad signature' };
  if (claims.e * 1000 <= now) return { ok: false, reason: 'expired' };
  return { ok: true, site, userId: claims.u, expiresAt: new Date(claims.e * 1000) };
}

/** The base64url HMAC-SHA256 of a payload with a site secret, as a site's backend computes it. */
export function signatureOf(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(SIGNING_PREFIX + payload, 'utf8').digest('base64url');
}

function claimsOf(payload: string): { s: string; u: string; e: number } | null {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const { s, u, e } = value as Record<string, unknown>;
  if (typeof s !== 'string' || s.length === 0 || s.length > 100) return null;
  if (!validUserId(u)) return null;
  if (typeof e !== 'number' || !Number.isSafeInteger(e) || e <= 0) return null;
  return { s, u, e };
}

const validUserId = (u: unknown): u is string => typeof u === 'string' && u.length > 0 && u.length <= MAX_ID_LENGTH && !BAD_ID_CHARS.test(u);
