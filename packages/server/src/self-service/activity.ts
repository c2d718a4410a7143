import { dateTime, truncate } from '../console/ui/format.js';
import type { StoredEvent } from '../store/types.js';
import { SELF_SERVICE_SOURCE } from './actions.js';

/** Events the page lists, newest first. */
export const RECENT_EVENTS = 20;

export interface ActivityItem {
  /** The event's time in the site's time zone, which it names: "2026-03-01 15:05 Europe/Berlin". */
  when: string;
  /** ISO time, for `<time datetime>`. */
  iso: string;
  what: string;
  /** The page's path, for page views. */
  where: string | null;
}

/**
 * What a customer is shown of their recent events: page views by title and path, events by
 * name, detail changes as such; nothing of ids, IPs, devices or the raw message.
 *
 * @example
 * activityOf(events, 'Europe/Berlin'); // [{ when: '2026-03-01 15:05 Europe/Berlin', what: 'Trips', where: '/trips', ... }]
 */
export function activityOf(events: StoredEvent[], timeZone: string): ActivityItem[] {
  return events.slice(0, RECENT_EVENTS).map((e) => {
    const page = e.enrichment?.page ?? null;
    const path = page?.path ? truncate(page.path, 120) : null;
    return { when: dateTime(e.timestamp, timeZone), iso: e.timestamp, what: truncate(describe(e, page?.title ?? null, path), 120), where: e.type === 'page' ? path : null };
  });
}

function describe(e: StoredEvent, title: string | null, path: string | null): string {
  switch (e.type) {
    case 'page':
      return title?.trim() || e.name || path || 'Page view';
    case 'screen':
      return e.name || 'Screen view';
    case 'track':
      return e.event || 'Event';
    case 'identify':
      return e.context?.source === SELF_SERVICE_SOURCE ? 'You corrected your details here' : 'Details updated';
    case 'alias':
      return 'Accounts linked';
    case 'group':
      return 'Group membership updated';
    default:
      return 'Event';
  }
}
