import { significanceOf } from '../decisions/report.js';
import { twoProportionTest } from '../decisions/statistics.js';
import type { AutomationRecord, RunStatus } from '../store/automations.js';
import type { Store } from '../store/store.js';
import { DEFAULT_GOAL, type AutomationDefinition } from './definition.js';

const DAY_MS = 86_400_000;

/**
 * Runs read for conversions at most: the report of an automation with more says so
 * (`conversionsFrom`) rather than making one request cost without bound.
 */
export const MAX_REPORTED_RUNS = 200_000;

/**
 * How an automation does, against its holdout. Entered: runs started (by status too). Sent:
 * runs that tried a send (the delivered ones and the dead letters). Delivered: runs with a send
 * that went out; opened (the pixel; a click counts as an open, since images are often blocked)
 * and clicked (the redirect links) among them. Converted: runs whose person did the goal event
 * within its window after the run started, for the runs and for the holdout, whose members go
 * through the same steps with nothing sent. The uplift is the difference of those conversion
 * rates, tested with the offers' two-proportion z-test.
 *
 * @example
 * const report = await automationReport(store, automation, Date.now());
 * report.uplift.absolute; // 0.031
 */
export async function automationReport(store: Store, automation: AutomationRecord, now: number) {
  const { siteId, id } = automation;
  const definition = automation.definition as unknown as AutomationDefinition;
  const goal = definition.goal ?? DEFAULT_GOAL;
  const [counts, sends, starts] = await Promise.all([
    store.automations.runCounts(siteId, id),
    store.automations.sendCounts(siteId, id),
    store.automations.runStarts(siteId, id, MAX_REPORTED_RUNS),
  ]);
  const byStatus = (holdout: boolean) => {
    const statuses: Record<RunStatus, number> = { active: 0, done: 0, exited: 0, cancelled: 0, failed: 0 };
    for (const c of counts) if (c.holdout === holdout) statuses[c.status] += c.runs;
    return statuses;
  };
  const treated = byStatus(false);
  const held = byStatus(true);
  const total = (s: Record<RunStatus, number>) => Object.values(s).reduce((a, b) => a + b, 0);

  const windowMs = goal.withinDays * DAY_MS;
  const firsts = await store.firstEventsBetween(
    siteId,
    goal.event,
    starts.map((s) => ({ profileId: s.profileId, from: s.startedAt, to: s.startedAt + windowMs })),
  );
  const group = (holdout: boolean) => {
    let runs = 0;
    let converted = 0;
    starts.forEach((s, i) => {
      if (s.holdout !== holdout) return;
      runs++;
      if (firsts[i] !== null) converted++;
    });
    return { runs, converted, rate: runs ? converted / runs : null };
  };
  const a = group(false);
  const b = group(true);
  const test = twoProportionTest(a.converted, a.runs, b.converted, b.runs);
  const rate = (x: number, n: number) => (n ? x / n : null);
  return {
    automationId: id,
    name: automation.name,
    status: automation.status,
    holdoutPercent: definition.holdoutPercent,
    goal,
    generatedAt: new Date(now).toISOString(),
    /** How many runs the conversion figures come from: all of them, unless there are more than `MAX_REPORTED_RUNS`. */
    conversionsFrom: starts.length,
    runs: {
      entered: total(treated),
      byStatus: treated,
      sent: sends.sent + treated.failed,
      delivered: sends.sent,
      opened: sends.opened,
      clicked: sends.clicked,
      openRate: rate(sends.opened, sends.sent),
      clickRate: rate(sends.clicked, sends.sent),
      converted: a.converted,
      conversionRate: a.rate,
    },
    holdout: { entered: total(held), byStatus: held, converted: b.converted, conversionRate: b.rate },
    uplift: {
      absolute: a.rate !== null && b.rate !== null ? a.rate - b.rate : null,
      relative: a.rate !== null && b.rate ? (a.rate - b.rate) / b.rate : null,
    },
    significance: significanceOf(test),
  };
}

export type AutomationReport = Awaited<ReturnType<typeof automationReport>>;
