import type { JsonObject } from '@rapport/protocol';
import { inControlGroup } from '../decisions/bucket.js';
import { newId } from '../ids.js';
import type { ProfileRecord } from '../profiles/types.js';
import { compileRule, type Predicate } from '../segments/compile.js';
import { subjectOf } from '../segments/membership.js';
import type { Rule } from '../segments/rule.js';
import type { AutomationRecord, AutomationStore, RunRecord } from '../store/automations.js';
import type { IngestEvent, IngestOptions, IngestResult, ProfileChange, Site } from '../store/types.js';
import { encodeCursor } from '../store/cursor.js';
import { isTimed, TIMED_ATTRIBUTES, type AutomationCatalog, type LiveAutomation, type SiteAutomations, type TimedAttribute } from './catalog.js';
import type { AutomationDefinition } from './definition.js';
import { FIRST_POSITION } from './position.js';
import { messageTriggerKey } from './trigger.js';
import { arrive } from './walk.js';

/**
 * Where a watch stands: not a step but the row that keeps a time-set trigger (`daysSinceLastOrder`
 * reaching 90) in the runs' index of due times, one per automation and person.
 */
export const WATCH_POSITION = 'watch';

const DAY_MS = 86_400_000;

/** Profiles armed per write when an automation's existing profiles get their watches. */
const WATCH_PAGE = 500;

/** A watch is looked at again this much later while its automation is paused. */
const PAUSED_WATCH_RECHECK_MS = 60 * 60_000;

export interface StarterOptions {
  automations: AutomationStore;
  catalog: AutomationCatalog;
  /** The compiled segments of a site, by id (the decisions' catalog). */
  segments(siteId: string): Promise<Map<string, { matches: Predicate }>>;
  /** The live profile a message's ids point to: a duplicate's, whose call said none. */
  findProfile(site: Site, event: IngestEvent): Promise<ProfileRecord | null>;
  /** A live profile by id. */
  getProfile(siteId: string, id: string): Promise<ProfileRecord | null>;
  /** A person's track event, for the runs that wait for it or exit on it (`Runner.onEvent`); how many it moved. */
  onEvent(siteId: string, profileId: string, event: string): Promise<number>;
  /** The holder the scheduler claims runs as (for watches it hands over). */
  holder: string;
  /** Told when a run started or a watch armed falls due. */
  onDue?: (at: number) => void;
  now?: () => number;
}

/** A run about to start, before its automation's conditions, cap and holdout are applied. */
interface Candidate {
  live: LiveAutomation;
  profile: ProfileRecord | string;
  triggerKey: string;
  context: JsonObject;
}

/**
 * Starts automation runs from what an ingest call stored, before the call is answered: event
 * triggers from its track messages, first identifies, segment entries and exits and counters
 * reaching a value from each person's profile before and after the call, and the watches of
 * time-set triggers when the moment they count from moves. Then it hands each track event to
 * the runs that wait for it. A run starts once per occurrence (its trigger key): a message a
 * client sends again is a duplicate that is looked at again, so a crash between the commit and
 * the start is made good by the client's retry.
 *
 * @example
 * const result = await ingester.ingest(site, events, await starter.ingestOptions(site.id));
 * await starter.afterIngest(site, events, result);
 */
export class AutomationStarter {
  private readonly now: () => number;

  constructor(private readonly options: StarterOptions) {
    this.now = options.now ?? Date.now;
  }

  /** What an ingest call must return for this site's triggers. */
  async ingestOptions(siteId: string): Promise<IngestOptions> {
    return { profiles: (await this.options.catalog.forSite(siteId)).comparesProfiles };
  }

  async afterIngest(site: Site, events: IngestEvent[], result: IngestResult): Promise<void> {
    const live = await this.options.catalog.forSite(site.id);
    if (live.byEvent.length === 0 && live.listensTo.size === 0 && !live.comparesProfiles) return;
    const now = this.now();
    const after = new Map((result.changed ?? []).map((c) => [c.after.id, c.after]));
    const pending: Candidate[] = [];
    const started = new Map<string, number>();
    const unmoved = new Set<string>();

    for (const [i, event] of events.entries()) {
      if (event.type !== 'track' || !event.name) continue;
      const name = event.name;
      const triggered = live.byEvent.filter((a) => a.matches!(event));
      const listened = live.listensTo.has(name.toLowerCase());
      if (triggered.length === 0 && !listened) continue;
      const profileId = result.profileIds[i] ?? (await this.options.findProfile(site, event))?.id;
      if (!profileId) continue;
      const key = messageTriggerKey(event.anonymousId ?? event.userId!, event.messageId);
      for (const a of triggered) {
        pending.push({ live: a, profile: after.get(profileId) ?? profileId, triggerKey: key, context: { event: name, properties: event.properties ?? {} } });
      }
      if (listened) {
        // The runs this very event started are in the store before it is handed on, so that a
        // cart and its order in one batch end the run the cart began.
        const starting = pending.splice(0);
        await this.start(site.id, starting, started, now);
        // The same person's same event that moved nothing, again with no run started since,
        // moves nothing either: a batch of repeats costs the runs' reads once.
        if (starting.length) unmoved.clear();
        const key = `${profileId}\u0000${name.toLowerCase()}`;
        if (!unmoved.has(key) && (await this.options.onEvent(site.id, profileId, name)) === 0) unmoved.add(key);
      }
    }

    if (live.comparesProfiles && result.changed) {
      const segments = live.segmentEntered.length + live.segmentLeft.length ? await this.options.segments(site.id) : new Map();
      const watches: RunRecord[] = [];
      for (const change of result.changed) {
        pending.push(...this.profileTriggers(live, segments, change, now));
        watches.push(...this.watchesFor(live.timers, change, now));
      }
      if (watches.length) {
        await this.options.automations.armRuns(watches);
        for (const w of watches) this.options.onDue?.(w.dueAt!);
      }
    }
    await this.start(site.id, pending, started, now);
  }

  /**
   * A watch the scheduler claimed: when its moment has come the trigger fires (once per moment:
   * a later order moves the moment and sets the watch again), and the watch sleeps until ingest
   * moves the moment; when the moment moved later, the watch waits for the new one.
   */
  async watch(run: RunRecord): Promise<void> {
    const now = this.now();
    const { automations } = this.options;
    const automation = await automations.getAutomation(run.siteId, run.automationId);
    const profile = automation && (await this.options.getProfile(run.siteId, run.profileId));
    const trigger = (automation?.definition as unknown as AutomationDefinition | undefined)?.trigger;
    const write = (next: Partial<RunRecord>) => automations.updateRun({ ...run, ...next, updatedAt: now }, this.options.holder);
    if (!automation || !profile || profile.mergedInto || !trigger || !('attribute' in trigger) || !isTimed(trigger.attribute)) {
      await write({ status: 'cancelled', dueAt: null });
      return;
    }
    if (automation.status !== 'active') {
      await write({ dueAt: now + PAUSED_WATCH_RECHECK_MS });
      return;
    }
    const base = baseOf(profile, trigger.attribute);
    const due = base === null ? null : base + trigger.reaches * DAY_MS;
    if (due !== null && due > now) {
      await write({ dueAt: due });
      this.options.onDue?.(due);
      return;
    }
    if (due !== null) {
      await this.start(run.siteId, [{ live: liveOf(automation), profile, triggerKey: `a:${profile.id}:${base}`, context: { attribute: trigger.attribute, value: trigger.reaches } }], new Map(), now);
    }
    await write({ dueAt: null });
  }

  /**
   * Watches for every profile of a site that already has the moment a time-set trigger counts
   * from, for an automation just activated: one pass over the profiles, a page at a time, when
   * it is saved; never a scan at due time.
   *
   * @example
   * await starter.watchExisting(site.id, automation.id, (visit, after) => store.scanProfiles(site.id, visit, after));
   */
  async watchExisting(
    siteId: string,
    automationId: string,
    scan: (visit: (profile: ProfileRecord) => boolean | void, after?: string) => Promise<void>,
  ): Promise<number> {
    const automation = await this.options.automations.getAutomation(siteId, automationId);
    const trigger = (automation?.definition as unknown as AutomationDefinition | undefined)?.trigger;
    if (!automation || automation.status !== 'active' || !trigger || !('attribute' in trigger) || !isTimed(trigger.attribute)) return 0;
    const live = liveOf(automation);
    const now = this.now();
    let armed = 0;
    let after: string | undefined;
    for (;;) {
      const watches: RunRecord[] = [];
      let seen = 0;
      let last: ProfileRecord | null = null;
      await scan((profile) => {
        if (seen === WATCH_PAGE) return false;
        seen++;
        last = profile;
        watches.push(...this.watchesFor([live], { before: null, after: profile, last: { sender: '', messageId: '' } }, now));
      }, after);
      await this.options.automations.armRuns(watches);
      armed += watches.length;
      if (seen < WATCH_PAGE || !last) break;
      const { computed, id } = last as ProfileRecord;
      after = encodeCursor(computed.lastSeen ?? 0, id);
    }
    if (armed) this.options.onDue?.(now);
    return armed;
  }

  private profileTriggers(live: SiteAutomations, segments: Map<string, { matches: Predicate }>, change: ProfileChange, now: number): Candidate[] {
    const { before, after } = change;
    const occurrence = messageTriggerKey(change.last.sender, change.last.messageId);
    const candidates: Candidate[] = [];
    const subject = (p: ProfileRecord) => subjectOf(p, now, null);
    if (after.userId !== null && (before === null || before.userId === null)) {
      for (const a of live.identified) candidates.push({ live: a, profile: after, triggerKey: `u:${after.userId}`, context: { userId: after.userId } });
    }
    const inSegment = (id: string, p: ProfileRecord | null) => (p ? (segments.get(id)?.matches(subject(p)) ?? false) : false);
    for (const a of live.segmentEntered) {
      const id = (a.definition.trigger as { segmentEntered: string }).segmentEntered;
      if (!inSegment(id, before) && inSegment(id, after)) candidates.push({ live: a, profile: after, triggerKey: `s:${occurrence}`, context: { segment: id } });
    }
    for (const a of live.segmentLeft) {
      const id = (a.definition.trigger as { segmentLeft: string }).segmentLeft;
      if (before && inSegment(id, before) && !inSegment(id, after)) candidates.push({ live: a, profile: after, triggerKey: `s:${occurrence}`, context: { segment: id } });
    }
    for (const a of live.counters) {
      const { attribute, reaches } = a.definition.trigger as { attribute: string; reaches: number };
      const reached = compileRule({ field: `computed.${attribute}`, op: 'gte', value: reaches });
      if (!(before && reached(subject(before))) && reached(subject(after))) {
        candidates.push({ live: a, profile: after, triggerKey: `a:${occurrence}`, context: { attribute, value: reaches } });
      }
    }
    return candidates;
  }

  /** A watch for each time-set trigger whose moment this change moved (or, with no before, that has one). */
  private watchesFor(timers: LiveAutomation[], change: ProfileChange, now: number): RunRecord[] {
    const watches: RunRecord[] = [];
    for (const a of timers) {
      const { attribute, reaches } = a.definition.trigger as { attribute: TimedAttribute; reaches: number };
      const base = baseOf(change.after, attribute);
      if (base === null || (change.before && baseOf(change.before, attribute) === base)) continue;
      watches.push({
        ...newRun(a, change.after.id, `t:${change.after.id}`, {}, now),
        position: WATCH_POSITION,
        // Due at the moment itself or, when that has passed, at once.
        dueAt: Math.max(now, base + reaches * DAY_MS),
      });
    }
    return watches;
  }

  /** Applies each candidate's conditions, cap and holdout, and starts the runs that pass. */
  private async start(siteId: string, candidates: Candidate[], started: Map<string, number>, now: number): Promise<void> {
    const runs: RunRecord[] = [];
    for (const candidate of candidates) {
      const { live } = candidate;
      const definition = live.definition;
      let profile = typeof candidate.profile === 'string' ? null : candidate.profile;
      const profileId = typeof candidate.profile === 'string' ? candidate.profile : candidate.profile.id;
      if (live.admits || definition.steps.some((s) => 'if' in s)) {
        profile ??= await this.options.getProfile(siteId, profileId);
        if (!profile) continue;
      }
      if (live.admits && !live.admits(subjectOf(profile!, now, null))) continue;
      const capKey = `${live.record.id}\u0000${profileId}`;
      const cap = definition.cap;
      if (cap && (await this.runsWithin(siteId, live.record.id, profileId, cap.days, cap.runs, now)) + (started.get(capKey) ?? 0) >= cap.runs) continue;
      const holds = (rule: Rule) => (profile ? compileRule(rule)(subjectOf(profile, now, null)) : false);
      const stop = arrive(definition.steps, FIRST_POSITION, now, holds);
      const run = newRun(live, profileId, candidate.triggerKey, candidate.context, now);
      if (stop.done) runs.push({ ...run, status: 'done', dueAt: null });
      else runs.push({ ...run, position: stop.position, dueAt: stop.dueAt, waitingFor: stop.waitingFor });
      started.set(capKey, (started.get(capKey) ?? 0) + 1);
    }
    if (runs.length === 0) return;
    const fresh = await this.options.automations.startRuns(runs);
    runs.forEach((run, i) => {
      if (fresh[i] && run.dueAt !== null) this.options.onDue?.(run.dueAt);
    });
  }

  /** How many runs (not watches) of an automation a person started within the last `days` days, counted up to `enough`. */
  private async runsWithin(siteId: string, automationId: string, profileId: string, days: number, enough: number, now: number): Promise<number> {
    const since = now - days * DAY_MS;
    let count = 0;
    let cursor: string | undefined;
    // Newest first: the count stops at the first run older than the window.
    for (;;) {
      const page = await this.options.automations.listRuns({ siteId, automationId, profileId, limit: Math.min(100, enough + 1), cursor });
      for (const run of page.items) {
        if (run.startedAt < since) return count;
        if (run.position !== WATCH_POSITION) count++;
        if (count >= enough) return count;
      }
      if (!page.nextCursor) return count;
      cursor = page.nextCursor;
    }
  }
}

function newRun(live: LiveAutomation, profileId: string, triggerKey: string, context: JsonObject, now: number): RunRecord {
  const { record, definition } = live;
  return {
    id: newId(),
    siteId: record.siteId,
    automationId: record.id,
    profileId,
    triggerKey,
    holdout: inControlGroup(profileId, record.id, definition.holdoutPercent),
    status: 'active',
    position: FIRST_POSITION,
    context,
    dueAt: now,
    waitingFor: null,
    attempts: 0,
    startedAt: now,
    updatedAt: now,
  };
}

/** An automation record as the starter works with it, outside the catalog (a watch's, read at due time). */
function liveOf(record: AutomationRecord): LiveAutomation {
  const definition = record.definition as unknown as AutomationDefinition;
  return { record, definition, matches: null, admits: definition.conditions ? compileRule(definition.conditions) : null };
}

const baseOf = (profile: ProfileRecord, attribute: TimedAttribute): number | null => profile.computed[TIMED_ATTRIBUTES[attribute]];
