import type { RecommendationStrategy } from '@rapport/protocol';
import type { Body } from '../../http/input.js';
import type { Offer } from '../../decisions/types.js';

/** What an offer shows: its own title, text, image and link, or product cards filled in per visitor. */
export type ContentKind = 'message' | 'recommendations';

export const STRATEGY_LABELS: Record<RecommendationStrategy, string> = {
  'bought-together': 'Bought together with the product of the page',
  'viewed-together': 'Viewed together with the product of the page',
  'for-you': 'For you, from what the visitor did',
  trending: 'Trending on the site',
};

/** How many product cards a new recommendations offer shows. */
export const DEFAULT_PRODUCT_COUNT = 4;

/** The offer editor's fields, as the browser sends them: text, whatever was typed. */
export interface OfferValues {
  name: string;
  slot: string;
  segment: string;
  priority: string;
  status: string;
  /** `recommendations`, or anything else for the title, text, image and link. */
  contentKind: string;
  title: string;
  text: string;
  image: string;
  link: string;
  linkText: string;
  strategy: string;
  /** The number of product cards. */
  limit: string;
  startsAt: string;
  endsAt: string;
  capCount: string;
  capDays: string;
  controlPercent: string;
  goalEvent: string;
  goalDays: string;
}

const KEYS: Array<keyof OfferValues> = [
  'name', 'slot', 'segment', 'priority', 'status', 'contentKind', 'title', 'text', 'image', 'link', 'linkText', 'strategy', 'limit',
  'startsAt', 'endsAt', 'capCount', 'capDays', 'controlPercent', 'goalEvent', 'goalDays',
];

export const EMPTY_OFFER: OfferValues = {
  name: '', slot: '', segment: '', priority: '0', status: 'active', contentKind: 'message', title: '', text: '', image: '', link: '', linkText: '',
  strategy: 'bought-together', limit: String(DEFAULT_PRODUCT_COUNT), startsAt: '', endsAt: '', capCount: '', capDays: '', controlPercent: '10', goalEvent: '', goalDays: '7',
};

export function formValues(form: Record<string, unknown>): OfferValues {
  const out = { ...EMPTY_OFFER };
  for (const key of KEYS) out[key] = typeof form[key] === 'string' ? (form[key] as string) : '';
  return out;
}

/** `datetime-local` gives no time zone; the editor says UTC, so the value is read as UTC. */
const utc = (value: string) => (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value) ? `${value}Z` : value);
const local = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString().slice(0, 16));

/** A number when the text is one, the text itself otherwise (the API's reader then names the problem). */
function numberish(value: string, fallback?: number): unknown {
  const t = value.trim();
  if (t === '') return fallback;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

export const kindOf = (v: OfferValues): ContentKind => (v.contentKind === 'recommendations' ? 'recommendations' : 'message');

/** The content of the chosen kind only: the validator refuses a banner's fields in product cards. */
function contentBody(v: OfferValues): Body {
  if (kindOf(v) === 'recommendations') {
    return { type: 'recommendations', strategy: v.strategy, limit: numberish(v.limit, DEFAULT_PRODUCT_COUNT), title: v.title };
  }
  return { title: v.title, text: v.text, image: v.image.trim(), link: v.link.trim(), linkText: v.linkText };
}

/** The form as a body of the admin API, for `offerFields` to validate with the API's messages. */
export function offerBody(v: OfferValues): Body {
  return {
    name: v.name,
    slot: v.slot,
    segment: v.segment === '' ? null : v.segment,
    priority: numberish(v.priority, 0),
    status: v.status,
    content: contentBody(v),
    startsAt: v.startsAt.trim() === '' ? null : utc(v.startsAt.trim()),
    endsAt: v.endsAt.trim() === '' ? null : utc(v.endsAt.trim()),
    cap: v.capCount.trim() === '' && v.capDays.trim() === '' ? null : { count: numberish(v.capCount), days: numberish(v.capDays) },
    controlPercent: numberish(v.controlPercent, 0),
    goal: v.goalEvent.trim() === '' ? null : { event: v.goalEvent, withinDays: numberish(v.goalDays, 7) },
  };
}

export function offerValues(o: Offer): OfferValues {
  const cards = o.content.type === 'recommendations';
  return {
    name: o.name,
    slot: o.slot,
    segment: o.segmentId ?? '',
    priority: String(o.priority),
    status: o.status,
    contentKind: cards ? 'recommendations' : 'message',
    title: o.content.title ?? '',
    text: o.content.text ?? '',
    image: o.content.image ?? '',
    link: o.content.link ?? '',
    linkText: o.content.linkText ?? '',
    strategy: o.content.strategy ?? EMPTY_OFFER.strategy,
    limit: String(o.content.limit ?? DEFAULT_PRODUCT_COUNT),
    startsAt: local(o.startsAt),
    endsAt: local(o.endsAt),
    capCount: o.cap ? String(o.cap.count) : '',
    capDays: o.cap ? String(o.cap.days) : '',
    controlPercent: String(o.controlPercent),
    goalEvent: o.goal?.event ?? '',
    goalDays: o.goal ? String(o.goal.withinDays) : '7',
  };
}
