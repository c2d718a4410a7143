import type { ProfileRecord } from '../profiles/types.js';
import type { Store } from '../store/store.js';
import type { Site, StoredEvent } from '../store/types.js';
import { dayIn } from './days.js';
import { personFacts, RollupCounter } from './rollups.js';

/** Profiles read per round trip: a few thousand events in memory at a time. */
const PAGE = 500;

export interface RebuildResult {
  profiles: number;
  events: number;
  /** Profiles whose `activeDays` the recount changed (a new time zone changes them all). */
  profilesUpdated: number;
  days: number;
}

/**
 * Recomputes a site's rollups from what is stored, by the rules of reports/rollups.ts: the
 * events of every live profile, and each profile's days active (rewritten where they differ, as
 * after a change of time zone). Replaces the site's rollups in one transaction at the end.
 * A maintenance command (`rapport rollups rebuild`): events that arrive while it reads are
 * counted by ingest into the rollups it then replaces, so run it with the nodes stopped.
 *
 * @example
 * await rebuildRollups(store, site); // { profiles: 1200, events: 8400, profilesUpdated: 0, days: 31 }
 */
export async function rebuildRollups(store: Store, site: Site): Promise<RebuildResult> {
  const timeZone = site.settings.timeZone;
  const counter = new RollupCounter(timeZone);
  const result: RebuildResult = { profiles: 0, events: 0, profilesUpdated: 0, days: 0 };
  for (let after: string | null = null; ; ) {
    const page = await store.profileHistories(site.id, after, PAGE);
    if (page.length === 0) break;
    const changed: ProfileRecord[] = [];
    for (const { profile, events } of page) {
      if (recount(counter, profile, events, timeZone)) changed.push(profile);
      result.events += events.length;
    }
    await store.updateComputed(site.id, changed);
    result.profiles += page.length;
    result.profilesUpdated += changed.length;
    after = page[page.length - 1].profile.id;
  }
  const writes = counter.writes();
  result.days = writes.days.length;
  await store.replaceRollups(site.id, writes);
  return result;
}

/** Counts one person and their events; sets their days active from the events and says whether that changed them. */
function recount(counter: RollupCounter, profile: ProfileRecord, events: StoredEvent[], timeZone: string): boolean {
  counter.countEvents(profile, events);
  const activeDays = [...new Set(events.map((e) => dayIn(Date.parse(e.timestamp), timeZone)))].sort((a, b) => a - b);
  const before = profile.computed.activeDays ?? [];
  const changed = before.length !== activeDays.length || before.some((d, i) => d !== activeDays[i]);
  profile.computed.activeDays = activeDays;
  counter.countPerson(personFacts(profile, timeZone), 1);
  return changed;
}

/**
 * Rebuilds every site (or the one named), one after another.
 *
 * @example
 * for await (const [site, result] of rebuildSites(store, sites)) console.log(site.name, result.events);
 */
export async function* rebuildSites(store: Store, sites: Site[]): AsyncGenerator<[Site, RebuildResult]> {
  for (const site of sites) yield [site, await rebuildRollups(store, site)];
}
