import { PAID_MEDIUMS, type Campaign } from '@rapport/protocol';
import { campaignPaidClickId, CLICK_ID_NETWORKS, parseCampaign } from './campaign.js';
import { cleanValue, decodeComponent, MAX_URL_LENGTH, queryPairs } from './decode.js';
import type { Candidate, Definition, DefinitionKind } from './host-index.js';
import { canonicalSource, knownReferrers } from './known-referrers.js';
import { pageHost, readLocation, stripWww, type ReferrerLocation } from './location.js';
import type { Medium, ParseReferrerOptions, Referral } from './types.js';

const PAID = new Set<string>(PAID_MEDIUMS);

// utm_medium values with a channel of their own, after Google Analytics' default channel groups.
const CAMPAIGN_CHANNELS = new Map<string, 'email' | 'social' | 'search'>([
  ['email', 'email'],
  ['e-mail', 'email'],
  ['e_mail', 'email'],
  ['e mail', 'email'],
  ['newsletter', 'email'],
  ['social', 'social'],
  ['social-network', 'social'],
  ['social_network', 'social'],
  ['social network', 'social'],
  ['social-media', 'social'],
  ['social_media', 'social'],
  ['social media', 'social'],
  ['sm', 'social'],
  ['organic', 'search'],
]);

const MEDIUM_OF: Readonly<Record<DefinitionKind, Medium>> = {
  search: 'search',
  social: 'social',
  email: 'email',
  // AI assistants get no medium of their own (the list of mediums is a fixed contract); the
  // assistant's name as source keeps them countable.
  ai: 'unknown',
};

/** A parsed referrer with its query pairs read once, on first use. */
interface Referrer {
  location: Exclude<ReferrerLocation, { kind: 'other' }>;
  pairs?: Array<[string, string]>;
}

/**
 * Classifies a visit by its referrer and landing URL into medium, source and search keyword.
 *
 * Campaign parameters of `pageUrl` come first, as in Google Analytics: a click id or a paid
 * `utm_medium` makes the visit `paid`; a `utm_medium` of email, social or organic sets that medium.
 * Otherwise the referrer decides: the page's own host (or one of `internalHosts`) is `internal`,
 * then known search engines, social networks, webmail providers and AI assistants, and anything else
 * is `unknown` with its host as source. No referrer and no campaign is `direct`.
 *
 * Pure and synchronous; never throws, whatever the input.
 *
 * @param referrer `document.referrer` or the Referer header
 * @param pageUrl the landing page URL, for campaign parameters and the internal-referrer check
 * @example
 * parseReferrer('https://www.google.co.uk/search?q=running+shoes');
 * // { medium: 'search', source: 'Google', term: 'running shoes' }
 * parseReferrer('https://l.facebook.com/', 'https://shop.example/?utm_medium=cpc');
 * // { medium: 'paid', source: 'Facebook', term: null }
 * parseReferrer('https://shop.example/cart', 'https://www.shop.example/');
 * // { medium: 'internal', source: 'shop.example', term: null }
 */
export function parseReferrer(
  referrer: string | undefined | null,
  pageUrl?: string | null,
  options: ParseReferrerOptions = {},
): Referral {
  const text = typeof referrer === 'string' ? referrer.slice(0, MAX_URL_LENGTH).trim() : '';
  const campaign = parseCampaign(pageUrl);
  const hasCampaign = Object.keys(campaign).length > 0;
  if (text === '' && !hasCampaign) return { medium: 'direct', source: null, term: null };

  const location = text === '' ? null : readLocation(text);
  const parsed: Referrer | null = location === null || location.kind === 'other' ? null : { location };

  if (hasCampaign) {
    const fromCampaign = classifyCampaign(campaign, parsed);
    if (fromCampaign !== null) return fromCampaign;
  }
  if (location === null) {
    return { medium: 'unknown', source: campaignSource(campaign), term: campaign.term ?? null };
  }
  if (parsed === null) return { medium: 'unknown', source: null, term: null };
  return classifyReferrer(parsed, pageUrl, options ?? {});
}

function classifyCampaign(campaign: Campaign, referrer: Referrer | null): Referral | null {
  const medium = campaign.medium?.toLowerCase();
  const clickId = campaignPaidClickId(campaign);
  if (clickId !== undefined || (medium !== undefined && PAID.has(medium))) {
    const known = referrer && identify(referrer);
    return {
      medium: 'paid',
      source: known?.name ?? campaignSource(campaign) ?? (clickId && CLICK_ID_NETWORKS[clickId]) ?? hostSource(referrer),
      term: known?.term ?? campaign.term ?? null,
    };
  }
  const channel = medium === undefined ? undefined : CAMPAIGN_CHANNELS.get(medium);
  if (channel === undefined) return null;
  const known = referrer && identify(referrer);
  return {
    medium: channel,
    source: campaignSource(campaign) ?? known?.name ?? hostSource(referrer),
    term: (channel === 'search' ? known?.term : null) ?? campaign.term ?? null,
  };
}

function campaignSource(campaign: Campaign): string | null {
  return campaign.source === undefined ? null : canonicalSource(campaign.source);
}

/** For referrers the data does not know: the host without `www.`; IPs and app packages name nothing useful. */
function hostSource(referrer: Referrer | null): string | null {
  if (referrer === null) return null;
  const { location } = referrer;
  if (location.kind === 'app') return location.host;
  return location.ip ? null : stripWww(location.host);
}

function classifyReferrer(referrer: Referrer, pageUrl: string | null | undefined, options: ParseReferrerOptions): Referral {
  const { location } = referrer;
  if (location.kind === 'web' && isInternal(location.host, pageUrl, options.internalHosts)) {
    return { medium: 'internal', source: stripWww(location.host), term: null };
  }
  if (location.kind === 'web' && location.ip) return { medium: 'unknown', source: null, term: null };
  for (const candidate of candidatesOf(referrer)) {
    if (!pathMatches(candidate, location.path)) continue;
    const { definition } = candidate;
    if (definition.kind !== 'search') return { medium: MEDIUM_OF[definition.kind], source: definition.name, term: null };
    // A search host counts only with a keyword or on a path where the engine hides it; otherwise the
    // referrer is another page of that host (www.facebook.com without q is the social network).
    const term = keywordOf(definition, referrer);
    if (term !== null || hidesKeyword(definition, location.path, location.search)) {
      return { medium: 'search', source: definition.name, term };
    }
  }
  return { medium: 'unknown', source: hostSource(referrer), term: null };
}

/**
 * The engine or network a referrer comes from, by host alone: campaigns already say what kind of
 * visit it was, so a search host needs no keyword here.
 */
function identify(referrer: Referrer): { name: string; term: string | null } | null {
  const { location } = referrer;
  if (location.kind === 'web' && location.ip) return null;
  for (const candidate of candidatesOf(referrer)) {
    if (!pathMatches(candidate, location.path)) continue;
    const { definition } = candidate;
    return { name: definition.name, term: definition.kind === 'search' ? keywordOf(definition, referrer) : null };
  }
  return null;
}

function candidatesOf({ location }: Referrer): readonly Candidate[] {
  return location.kind === 'app' ? knownReferrers.resolveApp(location.host) : knownReferrers.resolve(location.host);
}

function pathMatches(candidate: Candidate, path: string): boolean {
  const prefix = candidate.path;
  if (prefix === null) return true;
  const lower = path.toLowerCase();
  if (prefix.endsWith('/')) return lower.startsWith(prefix) || lower === prefix.slice(0, -1);
  return lower === prefix || lower.startsWith(`${prefix}/`);
}

function keywordOf(definition: Definition, referrer: Referrer): string | null {
  const { location } = referrer;
  if (definition.params.length > 0) {
    referrer.pairs ??= queryPairs(location.search);
    for (const param of definition.params) {
      for (const [name, raw] of referrer.pairs) {
        if (name !== param) continue;
        const term = cleanTerm(decodeComponent(raw, definition.charsets));
        // Google's /url redirects carry the destination in q, not what was searched for.
        if (term !== null && !(location.path === '/url' && /^https?:\/\//i.test(term))) return term;
      }
    }
  }
  for (const regex of definition.pathRegexes) {
    const match = regex.exec(location.path) ?? regex.exec(location.path + location.search);
    const term = match?.[1] === undefined ? null : cleanTerm(decodeComponent(match[1], definition.charsets));
    if (term !== null) return term;
  }
  return null;
}

function cleanTerm(text: string): string | null {
  return cleanValue(text.replace(/\s+/g, ' '));
}

function hidesKeyword(definition: Definition, path: string, search: string): boolean {
  if (definition.hiddenPaths.includes(path)) return true;
  if (definition.hiddenRegexes.length === 0) return false;
  const pathAndQuery = path + search;
  return definition.hiddenRegexes.some((regex) => regex.test(pathAndQuery));
}

function isInternal(host: string, pageUrl: string | null | undefined, internalHosts: readonly string[] | undefined): boolean {
  const site = stripWww(host);
  const page = pageHost(pageUrl);
  if (page !== null && stripWww(page) === site) return true;
  if (!Array.isArray(internalHosts)) return false;
  for (const entry of internalHosts) {
    if (typeof entry === 'string' && normalizeHostOption(entry) === site) return true;
  }
  return false;
}

/** Accepts `shop.example`, `www.shop.example`, `shop.example:8443` or a URL in `internalHosts`. */
function normalizeHostOption(entry: string): string {
  const trimmed = entry.trim().toLowerCase();
  const host = trimmed.includes('://') ? (pageHost(trimmed) ?? trimmed) : trimmed.replace(/[/:].*$/, '');
  return stripWww(host.replace(/\.$/, ''));
}
