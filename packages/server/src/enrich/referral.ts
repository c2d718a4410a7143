import { CLICK_ID_PARAMS, type JsonObject } from '@rapport/protocol';
import { parseCampaign, parseReferrer } from '@rapport/referrer';
import type { Referral } from '../store/types.js';
import { BoundedCache } from './bounded-cache.js';

const cache = new BoundedCache<{ medium: string; source: string | null; term: string | null }>(10_000);

/**
 * The referral of a page: its referrer classified (medium, source, search keyword) together with
 * the campaign of its URL. Cached, since the same landing page and referrer repeat.
 */
export function referralOf(referrer: string | null, pageUrl: string | null, campaign: Record<string, string> | null): Referral {
  const key = `${referrer ?? ''}\n${pageUrl ?? ''}`;
  const parsed = cache.get(key) ?? cache.set(key, parseReferrer(referrer, pageUrl));
  return {
    medium: parsed.medium,
    source: parsed.source,
    // A landing URL's utm_term names the keyword when the engine hid it (Google, most often).
    term: parsed.term ?? campaign?.term ?? null,
    campaign: campaign?.name ?? null,
    referrer: referrer || null,
    landingPage: pageUrl || null,
  };
}

/**
 * UTM parameters and click ids of the page URL, over those the sender put in
 * `context.campaign` (the URL is the source of truth; senders may have copied it).
 */
export function campaignOf(pageUrl: string | null, sent: JsonObject | null): Record<string, string> | null {
  const out: Record<string, string> = {};
  if (sent) for (const [k, v] of Object.entries(sent)) if (typeof v === 'string' && v) out[k] = v.slice(0, 256);
  if (pageUrl) {
    for (const [k, v] of Object.entries(parseCampaign(pageUrl))) if (typeof v === 'string' && v) out[k] = v;
  }
  return Object.keys(out).length ? out : null;
}

/**
 * A short name of the campaign that a new session compares with the current one: the campaign
 * name, else source/medium, else the click id. Null when the page carries no campaign.
 */
export function campaignKey(campaign: Record<string, string>): string | null {
  if (campaign.name) return campaign.name;
  if (campaign.source || campaign.medium) return `${campaign.source ?? ''}/${campaign.medium ?? ''}`;
  for (const id of CLICK_ID_PARAMS) if (campaign[id]) return `${id}:${campaign[id]}`;
  return null;
}
