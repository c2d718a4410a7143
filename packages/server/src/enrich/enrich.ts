import type { JsonObject } from '@rapport/protocol';
import type { ValidMessage } from '../collect/validate.js';
import type { Enrichment, Site } from '../store/types.js';
import { normalizeIp, truncateIp } from './ip.js';
import { campaignOf, referralOf } from './referral.js';
import { parseUserAgent } from './user-agent.js';

/** What the request itself tells about its sender, beside the message. */
export interface RequestFacts {
  /** Client address from the socket, or X-Forwarded-For when the server trusts a proxy; normalized (`normalizeIp`). */
  clientIp: string | null;
  userAgentHeader: string | null;
  /** Authenticated with the site secret: a server-side caller whose `context.ip` is believed. */
  trusted: boolean;
  /** Milliseconds to add to the sender's clock to get the server's. */
  skew: number;
}

/**
 * Derives at ingest what later reads need: device from the user agent, a (truncated) IP, the
 * referral of the page (medium, source, keyword) with its campaign, and the visitor's first touch.
 */
export function enrich(message: ValidMessage, site: Site, facts: RequestFacts): Enrichment {
  const context = message.context;
  const page = asObject(context.page);
  const url = asString(page?.url);
  const campaign = page || context.campaign ? campaignOf(url, asObject(context.campaign)) : null;
  const referral = page ? referralOf(referrerOf(page.referrer), url, campaign) : null;

  const userAgent = asString(context.userAgent) ?? (facts.trusted ? null : facts.userAgentHeader);
  const sentIp = facts.trusted ? asString(context.ip) : null;
  const ip = (sentIp && normalizeIp(sentIp)) || facts.clientIp;

  return {
    ip: ip && !site.settings.storeFullIp ? truncateIp(ip) : ip,
    device: userAgent ? parseUserAgent(userAgent) : null,
    referral,
    campaign,
    page: page ? { url, path: asString(page.path) ?? pathOf(url), title: asString(page.title) } : null,
    firstTouch: firstTouchOf(asObject(context.firstTouch), facts.skew),
  };
}

function firstTouchOf(first: JsonObject | null, skew: number) {
  if (!first) return null;
  const at = typeof first.at === 'string' ? Date.parse(first.at) : NaN;
  if (!Number.isFinite(at)) return null;
  const landing = asString(first.landingUrl);
  const referral = referralOf(referrerOf(first.referrer), landing, campaignOf(landing, asObject(first.campaign)));
  return { ...referral, at: at + skew };
}

/** The path of a URL, or null when it does not parse. */
export function pathOf(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).pathname;
  } catch {
    return null;
  }
}

const asString = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
const asObject = (value: unknown): JsonObject | null =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : null;

/** RudderStack's browser SDK says `$direct` where Segment's sends "": no referrer, a direct visit. */
const referrerOf = (value: unknown) => {
  const text = asString(value);
  return text === '$direct' ? null : text;
};
