import { MAX_URL_LENGTH } from './decode.js';
import { withinDnsLimits } from './host-index.js';

/** What a referrer string turned out to be, after lenient parsing. */
export type ReferrerLocation =
  | {
      kind: 'web';
      /** Lower case, without a trailing dot. */
      host: string;
      /** IPv4 or IPv6 literal: names no site, so it is never classified. */
      ip: boolean;
      path: string;
      search: string;
    }
  | {
      /** `android-app://package/...`: Android apps send their package name as the referrer. */
      kind: 'app';
      host: string;
      path: string;
      search: string;
    }
  | { kind: 'other' };

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;
// "www.google.com/search?q=x": some senders drop the scheme; a dotted host first means a web URL.
const BARE_HOST = /^[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:[/?#:]|$)/i;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/**
 * Parses a referrer without ever throwing; looks at most at the first MAX_URL_LENGTH characters.
 * A host beyond DNS's limits (more than 253 characters or 127 labels) is `other`: it names no site,
 * and every caller is then spared the work such a host would cost, and its text as a source.
 */
export function readLocation(input: string): ReferrerLocation {
  let text = input.slice(0, MAX_URL_LENGTH).trim();
  if (!SCHEME.test(text) && BARE_HOST.test(text)) text = `http://${text}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { kind: 'other' };
  }
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (host === '' || !withinDnsLimits(host)) return { kind: 'other' };
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    return { kind: 'web', host, ip: host.startsWith('[') || IPV4.test(host), path: url.pathname, search: url.search };
  }
  if (url.protocol === 'android-app:') return { kind: 'app', host, path: url.pathname, search: url.search };
  return { kind: 'other' };
}

/** The host of a page URL, or null for relative or unparsable URLs. */
export function pageHost(pageUrl: string | null | undefined): string | null {
  if (typeof pageUrl !== 'string' || pageUrl === '') return null;
  const location = readLocation(pageUrl);
  return location.kind === 'web' ? location.host : null;
}

/** `www.example.com` and `example.com` are one site for every rule of this package. */
export function stripWww(host: string): string {
  return host.startsWith('www.') && host.indexOf('.', 4) !== -1 ? host.slice(4) : host;
}
