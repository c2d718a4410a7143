import type { AppContext } from '../app-context.js';
import { date, dateTime, num, truncate } from '../console/ui/format.js';
import type { ProfileRecord } from '../profiles/types.js';
import { segmentsOfProfile } from '../segments/membership.js';
import { DEFAULT_SELF_SERVICE, type Site } from '../store/types.js';
import { activityOf, RECENT_EVENTS } from './activity.js';
import { CONSENT_PURPOSES } from './consent-form.js';
import type { PersonView } from './page.js';
import { traitInput, traitLabel } from './traits.js';

const MAX_SHOWN_TEXT = 500;

/** A site's self-service settings, whole even for a row stored before a field was added. */
export const selfServiceOf = (site: Site) => ({ ...DEFAULT_SELF_SERVICE, ...site.settings.selfService });

/**
 * What the customer's page shows of their profile: every trait, their consent per purpose, the
 * shown segments they are in, their latest events and a few counts; the editable traits with
 * the input each gets. `base` is the page's path (`/me/<token>`).
 *
 * @example
 * const view = await personView(ctx, site, profile, `/me/${token}`, check.expiresAt);
 */
export async function personView(ctx: AppContext, site: Site, profile: ProfileRecord, base: string, expiresAt: Date): Promise<PersonView> {
  const settings = selfServiceOf(site);
  const timeZone = site.settings.timeZone;
  const recorded = profile.computed.consent ?? {};
  const asked = new Set<string>(CONSENT_PURPOSES.map((p) => p.purpose));
  const shown = new Set(settings.shownSegments);
  const [segments, events] = await Promise.all([
    shown.size ? segmentsOfProfile(ctx, profile) : Promise.resolve(null),
    ctx.store.profileEvents(site.id, profile.id, RECENT_EVENTS),
  ]);
  const c = profile.computed;
  const summary: Array<[string, string]> = [];
  if (c.firstSeen) summary.push(['First seen', date(c.firstSeen, timeZone)]);
  if (c.lastSeen) summary.push(['Last seen', date(c.lastSeen, timeZone)]);
  if (c.sessions) summary.push(['Visits', num(c.sessions)]);
  if (c.pageviews) summary.push(['Pages viewed', num(c.pageviews)]);
  if (c.orders) summary.push(['Orders', num(c.orders)]);
  return {
    site,
    base,
    expiresAt: dateTime(expiresAt.getTime(), timeZone),
    traits: Object.entries(profile.traits)
      .filter(([, value]) => value !== null && value !== undefined && value !== '')
      .map(([name, value]) => ({ name, label: traitLabel(name), text: truncate(traitText(value), MAX_SHOWN_TEXT) })),
    editable: settings.editableTraits.map((name) => ({ name, label: traitLabel(name), input: traitInput(name, profile.traits[name]) })),
    consent: CONSENT_PURPOSES.map((p) => {
      const record = recorded[p.purpose];
      return { ...p, granted: record ? record.granted : null, when: record ? dateTime(record.at, timeZone) : null };
    }),
    otherConsent: Object.entries(recorded)
      .filter(([purpose]) => !asked.has(purpose))
      .map(([purpose, r]) => ({ purpose, granted: r.granted, when: dateTime(r.at, timeZone) })),
    segments: segments && segments.filter((s) => shown.has(s.id)).map((s) => s.name),
    activity: activityOf(events.items, timeZone),
    summary,
  };
}

/** A trait's value as text for people: objects one "Key: value" per line, lists joined. */
export function traitText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))).join(', ');
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v]) => `${traitLabel(k)}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join('\n');
  }
  return '';
}
