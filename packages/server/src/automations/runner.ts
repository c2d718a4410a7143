import type { JsonObject } from '@rapport/protocol';
import type { ProfileRecord } from '../profiles/types.js';
import { compileRule } from '../segments/compile.js';
import { subjectOf } from '../segments/membership.js';
import type { Rule } from '../segments/rule.js';
import type { AutomationRecord, AutomationStore, RunRecord, RunStatus } from '../store/automations.js';
import type { Action, AutomationDefinition, Step } from './definition.js';
import { stepAt } from './position.js';
import { sameEventName } from './trigger.js';
import { actionAt, resume, type Stop } from './walk.js';
import { retryDelayMs, shouldRetry } from './webhook.js';
import { isSend, sendGate, type Gate } from './send-gate.js';
import { suppressionOf } from '../profiles/consent.js';
import type { Site } from '../store/types.js';

/** What carrying out an action came to. */
export type ActionResult =
  /** Done; `context` is merged into the run's (a coupon code, for the steps after). */
  | { kind: 'done'; context?: JsonObject }
  /** Worth another attempt later (a 5xx, a timeout), after at least `retryAfterMs` when given. */
  | { kind: 'retry'; error: string; retryAfterMs: number | null }
  /** Will not work however often tried (a 4xx); the run goes to the dead letters. */
  | { kind: 'failed'; error: string };

export interface ActionInput {
  run: RunRecord;
  automation: AutomationRecord;
  profile: ProfileRecord;
  /**
   * The same for every attempt of this step of this run, and only for it: a delivery's
   * idempotency key (`webhook-id`), so that a receiver drops a repeat after a crash or a retry.
   */
  key: string;
  now: number;
}

export type ActionKind = 'webhook' | 'email' | 'coupon' | 'setTrait' | 'tag' | 'offer';

/** Carries out one kind of action; each kind is its own module. */
export type ActionHandler = (action: Action, input: ActionInput) => Promise<ActionResult>;

/** The profile a run reads and acts on: the store's `getProfile`, or a cache of it. */
export type ProfileLoader = (siteId: string, profileId: string) => Promise<ProfileRecord | null>;

export interface RunnerOptions {
  automations: AutomationStore;
  profiles: ProfileLoader;
  /** The holder the scheduler claimed the runs as: only it may write them back. */
  holder: string;
  actions: Partial<Record<ActionKind, ActionHandler>>;
  /**
   * A site's settings, for what sends respect (quiet hours, the cap per person); without it,
   * sends still skip a person who unsubscribed, opted out or withdrew consent.
   */
  site?: (siteId: string) => Site | undefined;
  /** Told when a run written back falls due, so the scheduler wakes in time for it. */
  onDue?: (at: number) => void;
  /** How long a run taken for an event is held while it moves on. @default 60_000 */
  leaseMs?: number;
  now?: () => number;
  random?: () => number;
}

/** A paused automation's runs hold their place and look again this much later. */
export const PAUSED_RECHECK_MS = 60_000;

/** Keys of a run's context that are the runner's own: a retry in progress, a dead letter's cause. */
const RETRY_KEY = '$retry';
const ERROR_KEY = '$error';

/**
 * Carries out the due step of a run the scheduler claimed, and writes where the run goes next:
 * past a wait, into a `waitFor`'s else branch at its deadline, through an action (a retry
 * later, with backoff, when it asks for one; the dead letters when it fails for good or its
 * retries run out of their 24 h), or to its end. A run in the holdout goes through the same
 * steps with every action skipped. A send (email, webhook) respects the person and the site
 * (`sendGate`): skipped for one who said no, put off through quiet hours, skipped past the cap;
 * one that went out is recorded for the cap and the report. Ends early on the exit rule, and is cancelled when its
 * automation or its person is gone.
 *
 * @example
 * const runner = new Runner({ automations: store.automations, profiles: (s, id) => store.getProfile(s, id), holder, actions: { webhook: webhookAction } });
 * new Scheduler({ store: store.automations, holder, handle: (run) => runner.step(run) }).start();
 */
export class Runner {
  private readonly now: () => number;

  constructor(private readonly options: RunnerOptions) {
    this.now = options.now ?? Date.now;
  }

  async step(run: RunRecord): Promise<void> {
    const now = this.now();
    const { automations } = this.options;
    const automation = await automations.getAutomation(run.siteId, run.automationId);
    const profile = automation && (await this.options.profiles(run.siteId, run.profileId));
    if (!automation || !profile) return this.end(run, 'cancelled', now);
    if (automation.status !== 'active') return this.write({ ...run, dueAt: now + PAUSED_RECHECK_MS, updatedAt: now });

    const definition = automation.definition as unknown as AutomationDefinition;
    const holds = (rule: Rule) => compileRule(rule)(subjectOf(profile, now, null));
    if (definition.exit?.rule && holds(definition.exit.rule)) return this.end(run, 'exited', now);

    let action = actionAt(definition.steps, run.position);
    if (!action) {
      const stop = resume(definition.steps, run.position, 'elapsed', now, holds);
      const next = stop.done || stop.dueAt > now ? null : actionAt(definition.steps, stop.position);
      if (!next || stop.done) return this.moveTo(run, stop, now, {});
      // A wait that ends on an action due now: the action is carried out under this same claim
      // rather than written back and claimed again. Nothing was sent since the claim, so a crash
      // here brings the run back to its wait, which leads to the same step with the same key.
      run = { ...run, position: stop.position, dueAt: stop.dueAt, waitingFor: null, attempts: 0, context: publicContext(run.context) };
      action = next;
    }

    const key = `${run.id}:${run.position}`;
    const send = isSend(action);
    if (send && !run.holdout) {
      const gate = await this.gate(run.siteId, profile, now);
      if (gate.kind === 'later') return this.write({ ...run, dueAt: gate.at, updatedAt: now });
      if (gate.kind === 'skip') {
        const skipped = [...((run.context.skipped as JsonObject[] | undefined) ?? []), { position: run.position, reason: gate.reason }];
        return this.moveTo(run, resume(definition.steps, run.position, 'acted', now, holds), now, { skipped });
      }
    }
    const result: ActionResult = run.holdout ? { kind: 'done' } : await this.act(action, { run, automation, profile, key, now });
    if (result.kind === 'done') {
      if (send && !run.holdout) {
        // Before the run moves on: a crash in between sends again under the same key, and counts once.
        await automations.recordSend({
          siteId: run.siteId,
          runId: run.id,
          position: run.position,
          automationId: run.automationId,
          profileId: run.profileId,
          kind: 'email' in action ? 'email' : 'webhook',
          sentAt: now,
        });
      }
      return this.moveTo(run, resume(definition.steps, run.position, 'acted', now, holds), now, result.context ?? {});
    }
    const since = retryStart(run) ?? now;
    if (result.kind === 'retry') {
      const delay = retryDelayMs(run.attempts + 1, { random: this.options.random, retryAfterMs: result.retryAfterMs });
      if (shouldRetry(since, now, delay)) {
        const context = { ...run.context, [RETRY_KEY]: { since, error: result.error } };
        return this.write({ ...run, attempts: run.attempts + 1, dueAt: now + delay, context, updatedAt: now });
      }
    }
    const error = { position: run.position, message: result.error, attempts: run.attempts + 1, since, at: now };
    const context = { ...publicContext(run.context), [ERROR_KEY]: error };
    return this.write({ ...run, status: 'failed', dueAt: null, waitingFor: null, context, updatedAt: now });
  }

  /**
   * A person's track event `event` came: the runs of theirs that wait for it take their then
   * branch, and those whose automation exits on it end. Each run is claimed first, so that it
   * moves once however many nodes see the event; a run another holder has now is left to it
   * (it comes back to its wait, or on to its deadline).
   *
   * @example
   * await runner.onEvent(site.id, profileId, 'Order Completed'); // 1: the runs it moved
   */
  async onEvent(siteId: string, profileId: string, event: string): Promise<number> {
    const { automations } = this.options;
    // Indexed, by the exact name; the person's active runs add those that wait under another
    // case of it, and those whose automation exits on it.
    const waiting = await automations.runsWaitingFor(siteId, profileId, event);
    const active = (await automations.listRuns({ siteId, profileId, limit: 100 })).items.filter((r) => r.status === 'active');
    const definitions = new Map<string, AutomationDefinition | null>();
    const definitionOf = async (id: string) => {
      if (!definitions.has(id)) definitions.set(id, ((await automations.getAutomation(siteId, id))?.definition as unknown as AutomationDefinition) ?? null);
      return definitions.get(id)!;
    };
    const exitsOn = (d: AutomationDefinition | null) => !!d?.exit?.event && sameEventName(d.exit.event, event);
    const resumedBy = (d: AutomationDefinition | null, r: RunRecord) =>
      !!d && r.waitingFor !== null && sameEventName(r.waitingFor, event) && isWaitFor(stepAt(d.steps, r.position));

    const seen = new Set<string>();
    let moved = 0;
    for (const listed of [...waiting, ...active]) {
      if (seen.has(listed.id)) continue;
      seen.add(listed.id);
      const definition = await definitionOf(listed.automationId);
      // Only runs this event moves are claimed: the others stay free for the scheduler.
      if (!exitsOn(definition) && !resumedBy(definition, listed)) continue;
      const run = await automations.claimRun(siteId, listed.id, this.options.holder, this.options.leaseMs ?? 60_000);
      if (!run) continue;
      const now = this.now();
      if (exitsOn(definition)) {
        await this.end(run, 'exited', now);
        moved++;
      } else if (resumedBy(definition, run)) {
        const profile = await this.options.profiles(siteId, profileId);
        const holds = (rule: Rule) => (profile ? compileRule(rule)(subjectOf(profile, now, null)) : false);
        await this.moveTo(run, resume(definition!.steps, run.position, 'happened', now, holds), now, {});
        moved++;
      } else {
        // It moved on between the listing and the claim: let it go as it now is.
        await this.write(run);
      }
    }
    return moved;
  }

  private gate(siteId: string, profile: ProfileRecord, now: number): Promise<Gate> {
    const site = this.options.site?.(siteId);
    if (site) return sendGate(profile, site, this.options.automations, now);
    const reason = suppressionOf(profile.traits, profile.computed.consent);
    return Promise.resolve(reason ? { kind: 'skip', reason } : { kind: 'send' });
  }

  private async act(action: Action, input: ActionInput): Promise<ActionResult> {
    const kind = Object.keys(action)[0] as ActionKind;
    const handler = this.options.actions[kind];
    if (!handler) return { kind: 'failed', error: `this server carries out no ${kind} action` };
    try {
      return await handler(action, input);
    } catch (error) {
      // An action that throws (a bug, a store error) is tried again rather than lost.
      return { kind: 'retry', error: (error as Error).message, retryAfterMs: null };
    }
  }

  private moveTo(run: RunRecord, stop: Stop, now: number, added: JsonObject): Promise<void> {
    const context = { ...publicContext(run.context), ...added };
    if (stop.done) return this.write({ ...run, status: 'done', dueAt: null, waitingFor: null, attempts: 0, context, updatedAt: now });
    return this.write({ ...run, position: stop.position, dueAt: stop.dueAt, waitingFor: stop.waitingFor, attempts: 0, context, updatedAt: now });
  }

  private end(run: RunRecord, status: RunStatus, now: number): Promise<void> {
    return this.write({ ...run, status, dueAt: null, waitingFor: null, updatedAt: now });
  }

  private async write(next: RunRecord): Promise<void> {
    if (!(await this.options.automations.updateRun(next, this.options.holder))) {
      // The lease ran out while the step was carried out; its new holder does the step again,
      // under the same idempotency key, so a receiver sees one delivery id.
      console.warn(`rapport: the lease on automation run ${next.id} ran out before its step was written back`);
      return;
    }
    if (next.status === 'active' && next.dueAt !== null) this.options.onDue?.(next.dueAt);
  }
}

const isWaitFor = (step: Step | null) => step !== null && 'waitFor' in step;

function retryStart(run: RunRecord): number | null {
  const retry = run.context[RETRY_KEY] as { since?: unknown } | null | undefined;
  return typeof retry?.since === 'number' ? retry.since : null;
}

/** A run's context without the runner's own keys: what the steps, and receivers, are given. */
export function publicContext(context: JsonObject): JsonObject {
  const { [RETRY_KEY]: _retry, [ERROR_KEY]: _error, ...rest } = context;
  return rest;
}
