import { CLICK_ID_PARAMS, PAID_CLICK_ID_PARAMS, UTM_PARAMS, type Campaign } from '@rapport/protocol';
import { cleanValue, decodeComponent, MAX_URL_LENGTH, queryPairs } from './decode.js';

type ClickId = (typeof CLICK_ID_PARAMS)[number];

/**
 * The ad network each click id belongs to, the paid source when neither the referrer nor
 * `utm_source` names one. Typed over CLICK_ID_PARAMS so a new click id in the protocol does not
 * compile until it is named here.
 */
export const CLICK_ID_NETWORKS: Readonly<Record<ClickId, string>> = {
  gclid: 'Google',
  gbraid: 'Google',
  wbraid: 'Google',
  dclid: 'Google',
  gclsrc: 'Google',
  msclkid: 'Microsoft Advertising',
  fbclid: 'Facebook',
  ttclid: 'TikTok',
  twclid: 'Twitter',
  li_fat_id: 'LinkedIn',
  epik: 'Pinterest',
  rdt_cid: 'Reddit',
  sccid: 'Snapchat',
  ScCid: 'Snapchat',
  yclid: 'Yandex',
  irclickid: 'impact.com',
};

const UTM = new Map<string, string>(Object.entries(UTM_PARAMS));
const CLICK_IDS = new Set<string>(CLICK_ID_PARAMS);

/**
 * Reads the campaign parameters of a landing URL: the UTM parameters as `{ source, medium, name,
 * term, content }` plus every click id present, under its own name. Values are decoded, trimmed and
 * capped at 256 characters; the first non-empty occurrence of a parameter wins. UTM names are
 * matched without case (hand-written links say `UTM_Source`), click ids exactly, as the networks
 * send them. Parameters after `#` count too, after those of the query: single-page shops route
 * with the fragment, and Google Analytics reads campaigns there as an option. Never throws.
 *
 * @example
 * parseCampaign('https://shop.example/?utm_source=newsletter&utm_medium=email&gclid=abc');
 * // { source: 'newsletter', medium: 'email', gclid: 'abc' }
 */
export function parseCampaign(pageUrl: string | null | undefined): Campaign {
  const campaign: Campaign = {};
  if (typeof pageUrl !== 'string') return campaign;
  const text = pageUrl.slice(0, MAX_URL_LENGTH);
  const question = text.indexOf('?');
  const hash = text.indexOf('#');
  const parts: string[] = [];
  if (question !== -1 && (hash === -1 || question < hash)) parts.push(text.slice(question + 1, hash === -1 ? undefined : hash));
  if (hash !== -1) {
    const fragment = text.slice(hash + 1);
    const inner = fragment.indexOf('?');
    parts.push(inner === -1 ? fragment : fragment.slice(inner + 1));
  }
  for (const part of parts) {
    for (const [name, raw] of queryPairs(part)) {
      const field = UTM.get(name.toLowerCase()) ?? (CLICK_IDS.has(name) ? name : undefined);
      if (field === undefined || campaign[field] !== undefined) continue;
      const value = cleanValue(decodeComponent(raw));
      if (value !== null) campaign[field] = value;
    }
  }
  return campaign;
}

/** The first click id that only ad clicks carry (so it makes the visit paid), if any. */
export function campaignPaidClickId(campaign: Campaign): ClickId | undefined {
  return CLICK_ID_PARAMS.find((id) => campaign[id] !== undefined && PAID_CLICK_ID_PARAMS.includes(id));
}
