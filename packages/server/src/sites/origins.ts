/**
 * An allowed origin as the browser sends it in the Origin header: scheme, host and port, no
 * path. Throws with a reason for anything else.
 *
 * @example
 * normalizeOrigin('https://Shop.Example.com/') // 'https://shop.example.com'
 */
export function normalizeOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new Error(`"${value}" is not a URL; give an origin like https://shop.example.com`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`"${value}" is not an http or https origin`);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
    throw new Error(`"${value}" has more than an origin; give only scheme, host and port`);
  }
  return url.origin;
}
