import { compileRule, type Predicate } from '../segments/compile.js';
import type { AutomationRecord, AutomationStore } from '../store/automations.js';
import type { AutomationDefinition, Step, Trigger } from './definition.js';
import { eventMatcher, type EventMatcher } from './trigger.js';

/** The computed numbers that time moves, and the moment each counts days from. */
export const TIMED_ATTRIBUTES = {
  daysSinceFirstSeen: 'firstSeen',
  daysSinceLastSeen: 'lastSeen',
  daysSinceLastOrder: 'lastOrderAt',
} as const;
export type TimedAttribute = keyof typeof TIMED_ATTRIBUTES;

export const isTimed = (attribute: string): attribute is TimedAttribute => Object.hasOwn(TIMED_ATTRIBUTES, attribute);

/** An active automation, its trigger compiled once per load. */
export interface LiveAutomation {
  record: AutomationRecord;
  definition: AutomationDefinition;
  /** For an event trigger. */
  matches: EventMatcher | null;
  /** Who may enter (the definition's conditions), or null for everyone. */
  admits: Predicate | null;
}

/** A site's active automations, sorted by what sets them off. */
export interface SiteAutomations {
  byEvent: LiveAutomation[];
  identified: LiveAutomation[];
  segmentEntered: LiveAutomation[];
  segmentLeft: LiveAutomation[];
  /** A counter (`orders`, `revenue`) reaching a value, which only ingest moves. */
  counters: LiveAutomation[];
  /** A `daysSince*` reaching a value, which time moves: kept in the runs' index of due times. */
  timers: LiveAutomation[];
  /** Lowercased names of the events that some run waits for or exits on. */
  listensTo: Set<string>;
  /** Some trigger compares a person before and after an ingest call. */
  comparesProfiles: boolean;
}

/** How long a node goes on with a site's automations before it reads them again: what another node changed shows within this. */
export const AUTOMATION_CATALOG_TTL_MS = 1_000;

/**
 * The active automations of each site, in memory for ingest: an ingest call reads no
 * definition from the store. Changes made on this node drop the site's entry at once; those
 * made on another node are seen within `AUTOMATION_CATALOG_TTL_MS`.
 *
 * @example
 * const live = await catalog.forSite(site.id);
 * if (live.byEvent.length) ...
 */
export class AutomationCatalog {
  private readonly sites = new Map<string, { at: number; entry: Promise<SiteAutomations> }>();

  constructor(
    private readonly store: AutomationStore,
    private readonly now: () => number = Date.now,
  ) {}

  forSite(siteId: string): Promise<SiteAutomations> {
    const cached = this.sites.get(siteId);
    if (cached && this.now() - cached.at < AUTOMATION_CATALOG_TTL_MS) return cached.entry;
    const entry = this.store.listAutomations(siteId).then(sortAutomations);
    const slot = { at: this.now(), entry };
    this.sites.set(siteId, slot);
    entry.catch(() => {
      if (this.sites.get(siteId) === slot) this.sites.delete(siteId);
    });
    return entry;
  }

  invalidate(siteId: string) {
    this.sites.delete(siteId);
  }
}

function sortAutomations(records: AutomationRecord[]): SiteAutomations {
  const site: SiteAutomations = {
    byEvent: [],
    identified: [],
    segmentEntered: [],
    segmentLeft: [],
    counters: [],
    timers: [],
    listensTo: new Set(),
    comparesProfiles: false,
  };
  for (const record of records) {
    if (record.status !== 'active') continue;
    const definition = record.definition as unknown as AutomationDefinition;
    const live: LiveAutomation = {
      record,
      definition,
      matches: eventMatcher(definition.trigger),
      admits: definition.conditions ? compileRule(definition.conditions) : null,
    };
    listFor(site, definition.trigger).push(live);
    for (const name of eventsListenedTo(definition)) site.listensTo.add(name.toLowerCase());
  }
  site.comparesProfiles = site.identified.length + site.segmentEntered.length + site.segmentLeft.length + site.counters.length + site.timers.length > 0;
  return site;
}

function listFor(site: SiteAutomations, trigger: Trigger): LiveAutomation[] {
  if ('event' in trigger) return site.byEvent;
  if ('identified' in trigger) return site.identified;
  if ('segmentEntered' in trigger) return site.segmentEntered;
  if ('segmentLeft' in trigger) return site.segmentLeft;
  return isTimed(trigger.attribute) ? site.timers : site.counters;
}

/** The events a run of this automation can be moved by: its `waitFor`s, anywhere in the steps, and its exit event. */
export function eventsListenedTo(definition: AutomationDefinition): string[] {
  const names: string[] = definition.exit?.event ? [definition.exit.event] : [];
  const visit = (steps: Step[]) => {
    for (const step of steps) {
      if ('waitFor' in step) names.push(step.waitFor.event);
      if ('then' in step) (visit(step.then), visit(step.else));
    }
  };
  visit(definition.steps);
  return names;
}
