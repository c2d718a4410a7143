import { CLICK_ID_PARAMS, MAX_ID_LENGTH, UTM_PARAMS } from '@rapport/protocol';
import type { Campaign, JsonObject, Message, PageContext } from '@rapport/protocol';

/**
 * A random UUID v4. `crypto.randomUUID` exists only in secure contexts (https, localhost), so
 * plain-http pages get the same format from getRandomValues, which every browser that runs this
 * code has; Math.random stands in where `crypto` is missing or broken anyway, since making an id
 * must never fail.
 */
export const uuid = (): string => {
  try {
    return crypto.randomUUID();
  } catch {}
  return '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (c) => {
    let r = Math.random() * 256;
    try {
      r = crypto.getRandomValues(new Uint8Array(1))[0];
    } catch {}
    return (+c ^ (r & (15 >> (+c / 4)))).toString(16);
  });
};

/** UTM parameters and ad click ids of a query string, or undefined when it has none. */
export const campaignOf = (search: string): Campaign | undefined => {
  const params = new URLSearchParams(search);
  let campaign: Campaign | undefined;
  const copy = (param: string, field: string) => {
    const value = params.get(param);
    if (value) (campaign = campaign || {})[field] = value;
  };
  for (const param in UTM_PARAMS) copy(param, UTM_PARAMS[param as keyof typeof UTM_PARAMS]);
  for (const param of CLICK_ID_PARAMS) copy(param, param);
  return campaign;
};

/** `context.page` of the page as it is now. */
export const pageOf = (referrer: string, previous?: string): PageContext => ({
  url: location.href,
  path: location.pathname,
  referrer,
  title: document.title,
  search: location.search,
  previous,
});

/** A plain object given as properties or traits, else undefined. */
export const objectOr = (value: unknown): JsonObject | undefined =>
  value && typeof value == 'object' && !Array.isArray(value) ? (value as JsonObject) : undefined;

/**
 * A user id as the server takes it: a string or a number, not empty, at most MAX_ID_LENGTH
 * characters. Anything else throws: kept as the user id, it would spoil every later message.
 */
export const idOf = (value: unknown): string => {
  const id = typeof value == 'string' || Number.isFinite(value) ? String(value) : '';
  if (id && id.length <= MAX_ID_LENGTH) return id;
  throw new TypeError('rapport: userId');
};

// The visitor's time zone, read once: building a DateTimeFormat for every message was a sixth
// of the cost of track(), and the first one of a page costs 15–30 ms (ICU loads its data).
let zone: string | undefined;

/** The time zone if it has been read; messages made while the page starts go without it. */
export const knownTimezone = (): string | undefined => zone;

/**
 * Gives a message the time zone when it is sent, reading it if need be: the first read happens
 * in the task of the first flush, not in the one that starts the SDK on a loading page.
 */
export const withTimezone = (message: Message): void => {
  const context = message.context;
  try {
    if (context && !context.timezone) context.timezone = zone = zone || Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {}
};
