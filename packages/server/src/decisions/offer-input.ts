import type { OfferContent } from '@rapport/protocol';
import { isObject } from '../collect/validate.js';
import { invalidField, optionalNumber, optionalString, requiredString, type Body } from '../http/input.js';
import { SLOT_NAME, SLOT_NAME_HINT } from './routes.js';
import { OFFER_STATUSES, type Offer, type OfferStatus } from './types.js';

export const OFFER_FIELDS = [
  'site',
  'name',
  'slot',
  'segment',
  'priority',
  'status',
  'content',
  'startsAt',
  'endsAt',
  'cap',
  'controlPercent',
  'goal',
] as const;

/** What an admin request may set on an offer. */
type OfferFields = Omit<Offer, 'id' | 'siteId' | 'createdAt' | 'updatedAt'>;

/** The editable fields of a new offer before the request's are applied (and what PUT resets to). */
export const OFFER_DEFAULTS: OfferFields = {
  name: '',
  slot: '',
  segmentId: null,
  priority: 0,
  status: 'active',
  content: {},
  startsAt: null,
  endsAt: null,
  cap: null,
  controlPercent: 0,
  goal: null,
};

/** The fields of `offerFields` that were given: undefined ones (absent, or a null number) must not overwrite anything. */
export function givenOfferFields(body: Body): Partial<Offer> {
  return Object.fromEntries(Object.entries(offerFields(body)).filter(([, v]) => v !== undefined)) as Partial<Offer>;
}

const CONTENT_LIMITS = { title: 200, text: 2000, linkText: 100, link: 2048, image: 2048 } as const;

/**
 * The editable fields of an offer from a request body, validated; absent fields are left
 * undefined so that PATCH can apply only what was sent.
 */
export function offerFields(body: Body): Partial<OfferFields> {
  const out: Partial<OfferFields> = {};
  if (body.name !== undefined) out.name = requiredString(body, 'name', { max: 100 });
  if (body.slot !== undefined) {
    out.slot = requiredString(body, 'slot', { pattern: SLOT_NAME, patternHint: `must be ${SLOT_NAME_HINT}` });
  }
  if (body.segment !== undefined) {
    out.segmentId = body.segment === null ? null : requiredString(body, 'segment', { max: 64 });
  }
  if (body.priority !== undefined) out.priority = optionalNumber(body, 'priority', { integer: true, min: -1000, max: 1000 });
  if (body.status !== undefined) {
    const status = optionalString(body, 'status');
    if (!OFFER_STATUSES.includes(status as OfferStatus)) throw invalidField('status', `must be one of ${OFFER_STATUSES.join(', ')}`);
    out.status = status as OfferStatus;
  }
  if (body.content !== undefined) out.content = content(body.content);
  if (body.startsAt !== undefined) out.startsAt = date(body, 'startsAt');
  if (body.endsAt !== undefined) out.endsAt = date(body, 'endsAt');
  if (body.cap !== undefined) {
    out.cap =
      body.cap === null
        ? null
        : pair(body.cap, 'cap', { count: { min: 1, max: 1000 }, days: { min: 1, max: 365 } }) as Offer['cap'];
  }
  if (body.controlPercent !== undefined) out.controlPercent = optionalNumber(body, 'controlPercent', { min: 0, max: 100 });
  if (body.goal !== undefined) {
    if (body.goal === null) out.goal = null;
    else {
      if (!isObject(body.goal)) throw invalidField('goal', 'must be { event, withinDays } or null');
      onlyKeys(body.goal, 'goal', ['event', 'withinDays']);
      // Read under its full name, so that a refusal names `goal.event` (the console marks that input).
      const event = requiredString({ 'goal.event': body.goal.event }, 'goal.event', { max: 256 });
      const { withinDays } = pair({ withinDays: body.goal.withinDays ?? 7 }, 'goal', { withinDays: { min: 1, max: 365 } });
      out.goal = { event, withinDays };
    }
  }
  return out;
}

/** Checks what only the whole offer can tell: required fields and a schedule in order. */
export function checkOffer(offer: Omit<Offer, 'id' | 'createdAt' | 'updatedAt'>) {
  if (!offer.name) throw invalidField('name', 'is required');
  if (!offer.slot) throw invalidField('slot', 'is required');
  if (!offer.content || Object.keys(offer.content).length === 0) {
    throw invalidField('content', 'is required: at least one of title, text, image, link');
  }
  if (offer.startsAt !== null && offer.endsAt !== null && offer.endsAt <= offer.startsAt) {
    throw invalidField('endsAt', 'must be after startsAt');
  }
}

/** The products a recommendations offer shows at most (what `POST /v1/recommendations` allows). */
export const MAX_RECOMMENDED_ITEMS = 50;
const RECOMMENDATION_STRATEGIES = ['bought-together', 'viewed-together', 'for-you', 'trending'] as const;

/**
 * `{ type: 'recommendations', strategy, limit, title? }`: product cards that decide fills in for
 * the visitor; the shop's own text fields stay out (the cards are the content).
 */
function recommendationsContent(value: Record<string, unknown>): OfferContent {
  for (const key of Object.keys(value)) {
    if (!['type', 'strategy', 'limit', 'title'].includes(key)) throw invalidField(`content.${key}`, 'unknown field; recommendations content has type, strategy, limit, title');
  }
  const strategy = value.strategy;
  if (typeof strategy !== 'string' || !(RECOMMENDATION_STRATEGIES as readonly string[]).includes(strategy)) {
    throw invalidField('content.strategy', `must be one of ${RECOMMENDATION_STRATEGIES.join(', ')}`);
  }
  const limit = value.limit ?? 4;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_RECOMMENDED_ITEMS) {
    throw invalidField('content.limit', `must be a whole number from 1 to ${MAX_RECOMMENDED_ITEMS}`);
  }
  const out: OfferContent = { type: 'recommendations', strategy: strategy as OfferContent['strategy'], limit };
  if (value.title !== undefined && value.title !== null && value.title !== '') {
    if (typeof value.title !== 'string' || value.title.length > CONTENT_LIMITS.title) throw invalidField('content.title', `must be a string of at most ${CONTENT_LIMITS.title} characters`);
    out.title = value.title;
  }
  return out;
}

function content(value: unknown): OfferContent {
  if (!isObject(value)) throw invalidField('content', 'must be an object with title, text, image, link, linkText');
  if (value.type !== undefined) {
    if (value.type !== 'recommendations') throw invalidField('content.type', 'must be "recommendations" or absent');
    return recommendationsContent(value);
  }
  const out: OfferContent = {};
  for (const key of Object.keys(value)) {
    if (!(key in CONTENT_LIMITS)) throw invalidField(`content.${key}`, 'unknown field; content has title, text, image, link, linkText');
    const limit = CONTENT_LIMITS[key as keyof typeof CONTENT_LIMITS];
    const text = value[key];
    if (text === null || text === undefined || text === '') continue;
    if (typeof text !== 'string') throw invalidField(`content.${key}`, 'must be a string');
    if (text.length > limit) throw invalidField(`content.${key}`, `must have at most ${limit} characters`);
    if ((key === 'link' || key === 'image') && !safeUrl(text)) {
      throw invalidField(`content.${key}`, 'must be an http(s) URL or a path starting with /');
    }
    out[key as keyof typeof CONTENT_LIMITS] = text;
  }
  return out;
}

/** http(s) URLs and site paths only, judged with placeholders replaced: never `javascript:` or `data:`. */
function safeUrl(template: string): boolean {
  const url = template.replace(/\{\{[^}]*\}\}/g, 'x').trim();
  if (url.startsWith('/') && !url.startsWith('//')) return true;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:';
  } catch {
    return false;
  }
}

function date(body: Body, field: string): number | null {
  const value = body[field];
  if (value === null) return null;
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(Date.parse(value))) {
    throw invalidField(field, 'must be an ISO-8601 date-time or null');
  }
  return Date.parse(value);
}

function pair<K extends string>(value: unknown, field: string, limits: Record<K, { min: number; max: number }>): Record<K, number> {
  if (!isObject(value)) throw invalidField(field, `must be an object with ${Object.keys(limits).join(' and ')}`);
  onlyKeys(value, field, Object.keys(limits));
  const out = {} as Record<K, number>;
  for (const key of Object.keys(limits) as K[]) {
    const v = value[key];
    const { min, max } = limits[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw invalidField(`${field}.${key}`, `must be a whole number from ${min} to ${max}`);
    }
    out[key] = v;
  }
  return out;
}

/** A misspelt key of a nested object would otherwise be dropped without a word. */
function onlyKeys(value: Record<string, unknown>, field: string, allowed: readonly string[]) {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw invalidField(`${field}.${key}`, `unknown field; ${field} has ${allowed.join(', ')}`);
  }
}
