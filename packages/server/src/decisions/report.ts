import type { Store } from '../store/store.js';
import { twoProportionTest } from './statistics.js';
import type { Offer, OfferEventRow } from './types.js';
import { dayIn, isoDate, UTC } from '../reports/days.js';

const DAY_MS = 86_400_000;
/** Below this p-value, the difference between offer and control is called significant. */
export const SIGNIFICANCE_LEVEL = 0.05;

/** A test's outcome as the reports show it: the test, its figures, and whether it passes `SIGNIFICANCE_LEVEL`. */
export function significanceOf(test: { z: number | null; pValue: number | null }) {
  return {
    test: 'two-proportion z-test',
    z: test.z,
    pValue: test.pValue,
    level: SIGNIFICANCE_LEVEL,
    significant: test.pValue !== null && test.pValue < SIGNIFICANCE_LEVEL,
  };
}

export interface Exposed {
  firstAt: number;
  convertedAt: number | null;
}

interface DayFigures {
  date: string;
  offer: { exposures: number; impressions: number; clicks: number; conversions: number };
  control: { exposures: number; conversions: number };
}

/**
 * Performance controlling of one offer: the offer group (visitors who saw it: at least one
 * impression) against the control group (visitors kept on the default: a control exposure).
 * A conversion is the goal event within the goal's window after a visitor's first exposure.
 * The uplift is the difference of conversion rates, tested with a two-proportion z-test. Days are
 * the site's, in its time zone.
 */
export async function offerReport(store: Store, offer: Offer, now: number, timeZone = UTC) {
  const rows = await store.offerEvents(offer.siteId, offer.id);
  const offerGroup = new Map<string, Exposed>();
  const controlGroup = new Map<string, Exposed>();
  const days = new Map<string, DayFigures>();
  const day = (ts: number) => {
    const date = isoDate(dayIn(ts, timeZone));
    let figures = days.get(date);
    if (!figures) {
      figures = { date, offer: { exposures: 0, impressions: 0, clicks: 0, conversions: 0 }, control: { exposures: 0, conversions: 0 } };
      days.set(date, figures);
    }
    return figures;
  };
  let impressions = 0;
  let clicks = 0;
  let controlExposures = 0;
  for (const row of rows) {
    if (row.kind === 'impression') {
      impressions++;
      day(row.timestamp).offer.impressions++;
    } else if (row.kind === 'click') {
      clicks++;
      day(row.timestamp).offer.clicks++;
    } else {
      controlExposures++;
    }
    addExposure(row, offerGroup, controlGroup);
  }

  if (offer.goal) {
    const windowMs = offer.goal.withinDays * DAY_MS;
    const exposures = [...offerGroup, ...controlGroup];
    const windows = exposures.map(([profileId, e]) => ({ profileId, from: e.firstAt, to: e.firstAt + windowMs }));
    const firsts = await store.firstEventsBetween(offer.siteId, offer.goal.event, windows);
    exposures.forEach(([, exposed], i) => (exposed.convertedAt = firsts[i]));
  }
  for (const [group, key] of [
    [offerGroup, 'offer'],
    [controlGroup, 'control'],
  ] as const) {
    for (const exposed of group.values()) {
      const figures = day(exposed.firstAt)[key];
      figures.exposures++;
      if (exposed.convertedAt !== null) figures.conversions++;
    }
  }

  const converted = (group: Map<string, Exposed>) => [...group.values()].filter((e) => e.convertedAt !== null).length;
  const offerConversions = converted(offerGroup);
  const controlConversions = converted(controlGroup);
  const rate = (x: number, n: number) => (n > 0 ? x / n : null);
  const offerRate = rate(offerConversions, offerGroup.size);
  const controlRate = rate(controlConversions, controlGroup.size);
  const test = offer.goal ? twoProportionTest(offerConversions, offerGroup.size, controlConversions, controlGroup.size) : { z: null, pValue: null };
  return {
    offerId: offer.id,
    name: offer.name,
    slot: offer.slot,
    controlPercent: offer.controlPercent,
    goal: offer.goal,
    generatedAt: new Date(now).toISOString(),
    offer: {
      exposures: offerGroup.size,
      impressions,
      clicks,
      clickRate: rate(clicks, impressions),
      conversions: offer.goal ? offerConversions : null,
      conversionRate: offer.goal ? offerRate : null,
    },
    control: {
      exposures: controlGroup.size,
      impressions: controlExposures,
      conversions: offer.goal ? controlConversions : null,
      conversionRate: offer.goal ? controlRate : null,
    },
    uplift: {
      absolute: offerRate !== null && controlRate !== null && offer.goal ? offerRate - controlRate : null,
      relative: offerRate !== null && controlRate ? (offerRate - controlRate) / controlRate : null,
    },
    significance: significanceOf(test),
    daily: [...days.values()].sort((a, b) => (a.date < b.date ? -1 : 1)),
  };
}

export type OfferReport = Awaited<ReturnType<typeof offerReport>>;

/**
 * The offer and control groups of an offer's events, by profile, with each one's first exposure.
 *
 * @example
 * const { offerGroup, controlGroup } = exposureGroups(await store.offerEvents(site.id, offer.id));
 */
export function exposureGroups(rows: OfferEventRow[]) {
  const offerGroup = new Map<string, Exposed>();
  const controlGroup = new Map<string, Exposed>();
  for (const row of rows) addExposure(row, offerGroup, controlGroup);
  return { offerGroup, controlGroup };
}

/**
 * A visitor belongs to the group of their first exposure: a merge can bring one profile both
 * kinds, and counting it twice would bias the comparison.
 */
function addExposure(row: OfferEventRow, offerGroup: Map<string, Exposed>, controlGroup: Map<string, Exposed>) {
  if (offerGroup.has(row.profileId) || controlGroup.has(row.profileId)) return;
  if (row.kind === 'click') return;
  (row.kind === 'impression' ? offerGroup : controlGroup).set(row.profileId, { firstAt: row.timestamp, convertedAt: null });
}
