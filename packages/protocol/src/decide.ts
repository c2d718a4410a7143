import type { Context } from './messages.js';

/**
 * Body of `POST /v1/decide`: every personalized slot of one page view, asked for in one call.
 *
 * @example
 * { "anonymousId": "a1", "slots": ["home-hero"],
 *   "context": { "page": { "url": "https://shop.example/?utm_term=thailand", "referrer": "https://www.google.com/" } } }
 */
export interface DecideRequest {
  anonymousId?: string;
  userId?: string;
  slots: string[];
  /** The page being viewed (`page`, `campaign`), the device (`userAgent`) and `userHash`. */
  context?: Context;
  writeKey?: string;
  /**
   * Ask for `links` on each decision: a pixel URL and a signed click URL that record the slot
   * events without the SDK, for emails and pages without JavaScript.
   */
  links?: boolean;
}

/** Content of an offer: data only, rendered by the SDK with DOM methods, never as HTML. */
export interface OfferContent {
  title?: string;
  text?: string;
  image?: string;
  link?: string;
  linkText?: string;
  /**
   * `recommendations`: product cards. The offer names `strategy` and `limit`; decide fills in
   * `items` for the visitor (the slot keeps its default when there are none).
   */
  type?: 'recommendations';
  strategy?: RecommendationStrategy;
  limit?: number;
  items?: RecommendedItem[];
}

/** How products are picked (see `POST /v1/recommendations`). */
export type RecommendationStrategy = 'bought-together' | 'viewed-together' | 'for-you' | 'trending';

/** One recommended product with its catalog fields and why it was chosen. */
export interface RecommendedItem {
  productId: string;
  name: string | null;
  price: number | null;
  currency: string | null;
  url: string | null;
  imageUrl: string | null;
  /** A short phrase: "bought together with p-12", "trending", ... */
  reason: string;
  score: number;
}

/**
 * The events of recommended items, with `product_id`, `position` (1-based), `strategy`,
 * `offerId` and `slot`: the list's impression (once the slot is half visible, with `products`:
 * `[{ product_id, position }]`) and the click on one card (Segment's e-commerce names).
 */
export const RECOMMENDATION_EVENTS = {
  impression: 'Product List Viewed',
  click: 'Product Clicked',
} as const;

/**
 * What one slot shows. `variant: 'control'` means the visitor is in the offer's control group:
 * `content` is null, the page keeps its default, and the SDK reports the exposure.
 */
export interface SlotDecision {
  offerId: string;
  variant: 'offer' | 'control';
  content: OfferContent | null;
  /** Why the slot got this answer, for debugging: e.g. `segment`, `everyone`, `control`. */
  reason?: string;
  /** Only when the site turns `exposeSegments` on: the names of the segments that matched. */
  segments?: string[];
  /**
   * Only when the request asked for `links`: `impression`, a `/v1/p.gif` URL that records the
   * view (`Offer Viewed`, or `Offer Control Exposed` for control), and `click`, a signed `/v1/r`
   * URL to the content's link that records `Offer Clicked` on the way: what the SDK would send.
   */
  links?: { impression?: string; click?: string };
}

/** Answer of `POST /v1/decide`: null for a slot means "keep the default content". */
export interface DecideResponse {
  slots: Record<string, SlotDecision | null>;
  /**
   * Set when the request's user id was not used: nothing vouched for it (no valid `userHash`, no
   * site secret), so the answer is for the anonymous id alone.
   */
  warnings?: Array<{ code: string; field: string; message: string }>;
}

/**
 * Events that the SDK's clickstream capture sends: a link or button clicked (properties `text`,
 * `href`, `path`; an element's `data-rapport-track` names its own event instead) and a form
 * submitted (`formId`, field names, never values).
 */
export const CAPTURE_EVENTS = {
  link: 'Link Clicked',
  button: 'Button Clicked',
  form: 'Form Submitted',
} as const;

/** Events that the SDK sends about slots, attributed back to offers by `properties.offerId`. */
export const SLOT_EVENTS = {
  impression: 'Offer Viewed',
  click: 'Offer Clicked',
  control: 'Offer Control Exposed',
} as const;
