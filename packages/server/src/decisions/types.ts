import type { OfferContent } from '@rapport/protocol';
import type { Rule } from '../segments/rule.js';

export interface Segment {
  id: string;
  siteId: string;
  name: string;
  description: string | null;
  rule: Rule;
  createdAt: number;
  updatedAt: number;
}

export type OfferStatus = 'active' | 'paused' | 'draft';
export const OFFER_STATUSES: readonly OfferStatus[] = ['active', 'paused', 'draft'];

/**
 * What a shop owner wants shown in a slot, to whom (a segment, or everyone when null), how
 * often, and against which control group it is measured.
 */
export interface Offer {
  id: string;
  siteId: string;
  name: string;
  slot: string;
  segmentId: string | null;
  /** Higher wins when several offers of a slot match. */
  priority: number;
  status: OfferStatus;
  /** Data only; `{{traits.firstName}}` placeholders are filled per visitor. */
  content: OfferContent;
  startsAt: number | null;
  endsAt: number | null;
  /** At most `count` impressions per visitor within `days` days. */
  cap: { count: number; days: number } | null;
  /** Share of matching visitors (0 to 100) kept on the default content, to measure the offer. */
  controlPercent: number;
  /** The event that counts as a conversion when it happens within `withinDays` of the exposure. */
  goal: { event: string; withinDays: number } | null;
  createdAt: number;
  updatedAt: number;
}

export type OfferEventKind = 'impression' | 'click' | 'control';

export interface OfferEventRow {
  profileId: string;
  kind: OfferEventKind;
  timestamp: number;
}
