import UAParser from 'ua-parser-js';
import type { DeviceInfo } from '../store/types.js';
import { BoundedCache } from './bounded-cache.js';

const cache = new BoundedCache<DeviceInfo>(5_000);
const BOT = /bot|crawl|spider|slurp|headless|lighthouse|pingdom|facebookexternalhit|preview/i;

/**
 * Browser, OS and device type of a user agent (ua-parser-js 1.x, MIT). ua-parser-js leaves the
 * device type empty for desktops; Rapport says `desktop`, and `bot` for crawlers.
 *
 * @example
 * parseUserAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) ...')
 * // { type: 'mobile', os: 'iOS', browser: 'Mobile Safari' }
 */
export function parseUserAgent(userAgent: string): DeviceInfo {
  const known = cache.get(userAgent);
  if (known) return known;
  const result = new UAParser(userAgent.slice(0, 1024)).getResult();
  const type = BOT.test(userAgent) ? 'bot' : (result.device.type ?? 'desktop');
  return cache.set(userAgent, { type, os: result.os.name ?? null, browser: result.browser.name ?? null });
}
