import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signature that proves a user id came from the site's backend:
 * `hex(HMAC-SHA256(site secret, userId))`. Compute it on your server and pass it to the SDK.
 *
 * @example
 * // In the shop's login handler:
 * const userHash = userHashOf(process.env.RAPPORT_SITE_SECRET, user.id);
 * // In the page: rapport.identify(user.id, { email }, { userHash })
 */
export function userHashOf(secret: string, userId: string): string {
  return createHmac('sha256', secret).update(userId, 'utf8').digest('hex');
}

/** Constant-time check of a `context.userHash` against the site secret. */
export function verifyUserHash(secret: string, userId: string, hash: unknown): boolean {
  if (typeof hash !== 'string' || hash.length !== 64) return false;
  const expected = Buffer.from(userHashOf(secret, userId), 'hex');
  const given = Buffer.from(hash.toLowerCase(), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
