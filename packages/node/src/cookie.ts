/** The SDK's anonymous id cookie (packages/sdk/src/storage.ts): `rapport_` + `id`. */
export const ID_COOKIE = 'rapport_id';

/** What a page being rendered on the server knows of its visitor's anonymous id. */
export interface VisitorId {
  anonymousId: string;
  /**
   * A `Set-Cookie` value to send with the page when the id is new, so that the browser SDK
   * keeps it: the server's decision and the browser's events then name the same visitor.
   */
  setCookie?: string;
}

/** Options of {@link visitorId}. */
export interface CookieOptions {
  /** The `Domain` of the cookie, as the SDK's `cookieDomain`. @default the page's host */
  domain?: string;
  /** Add `Secure`; the SDK does on https pages. @default true */
  secure?: boolean;
  /** Make a new id when the request has none. False in consent mode, before consent. @default true */
  create?: boolean;
}

// The ids the SDK makes are UUIDs; anything of this shape is taken, nothing that could break a header.
const VALID = /^[\w.:-]{1,128}$/;

/**
 * The visitor's anonymous id, read from the `Cookie` header the way the browser SDK stores it;
 * a new one (and the `Set-Cookie` to keep it) for a first-time visitor.
 *
 * @example
 * const { anonymousId, setCookie } = visitorId(req.headers.cookie);
 * if (setCookie) res.setHeader('Set-Cookie', setCookie);
 */
export function visitorId(cookieHeader: string | null | undefined, options: CookieOptions = {}): VisitorId {
  const found = readCookie(cookieHeader ?? '', ID_COOKIE);
  if (found && VALID.test(found)) return { anonymousId: found };
  const anonymousId = crypto.randomUUID();
  if (options.create === false) return { anonymousId };
  // The attributes of the SDK's own cookie, so that its rewrite on load changes nothing.
  const parts = [`${ID_COOKIE}=${anonymousId}`, 'Path=/', `Max-Age=${365 * 24 * 3600}`, 'SameSite=Lax'];
  if (options.domain) parts.push(`Domain=${options.domain}`);
  if (options.secure !== false) parts.push('Secure');
  return { anonymousId, setCookie: parts.join('; ') };
}

function readCookie(header: string, name: string): string | undefined {
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    try {
      // js-cookie writes values URI-encoded.
      return decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}
