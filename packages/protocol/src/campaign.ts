/**
 * Campaign parameters of a landing URL. The SDK copies these from the page URL into
 * `context.campaign`; the server reads them from the URL too, so a client that sends only URLs
 * loses nothing.
 */

/** UTM parameters and the `context.campaign` field each one fills. */
export const UTM_PARAMS = {
  utm_source: 'source',
  utm_medium: 'medium',
  utm_campaign: 'name',
  utm_term: 'term',
  utm_content: 'content',
} as const;

/**
 * Click ids that ad networks append to landing URLs, kept in `context.campaign`.
 * Sources: the networks' own documentation of their auto-tagging parameters.
 */
export const CLICK_ID_PARAMS = [
  'gclid', // Google Ads
  'gbraid', // Google Ads (iOS app to web)
  'wbraid', // Google Ads (web to app)
  'dclid', // Google Display & Video 360
  'gclsrc', // Google Ads (Search Ads 360)
  'msclkid', // Microsoft Advertising
  'fbclid', // Meta (Facebook, Instagram)
  'ttclid', // TikTok
  'twclid', // X (Twitter)
  'li_fat_id', // LinkedIn
  'epik', // Pinterest
  'rdt_cid', // Reddit
  'sccid', // Snapchat
  'yclid', // Yandex Direct
  'ScCid', // Snapchat (older spelling)
  'irclickid', // impact.com affiliate network
] as const;

/**
 * Click ids that only ad clicks carry: any of them makes a visit `paid`. fbclid is left out,
 * since Facebook appends it to ordinary shared links as well. Marked pure, so that bundles that
 * do not use it (the SDK's) leave the call out.
 */
export const PAID_CLICK_ID_PARAMS: readonly string[] = /* @__PURE__ */ CLICK_ID_PARAMS.filter((id) => id !== 'fbclid');

/** `utm_medium` values that mean the visit was bought. */
export const PAID_MEDIUMS = [
  'cpc',
  'ppc',
  'cpm',
  'cpv',
  'cpa',
  'paid',
  'paidsearch',
  'paid_search',
  'paid-search',
  'paidsocial',
  'paid_social',
  'paid-social',
  'display',
  'banner',
  'retargeting',
  'affiliate',
] as const;
