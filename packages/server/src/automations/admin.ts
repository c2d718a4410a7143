import type { JsonObject } from '@rapport/protocol';
import type { AppContext } from '../app-context.js';
import { HttpError } from '../http/errors.js';
import { invalidField, type Body } from '../http/input.js';
import { newId } from '../ids.js';
import type { AutomationRecord, AutomationStatus, RunRecord, RunStatus } from '../store/automations.js';
import { ConflictError } from '../store/store.js';
import type { Site } from '../store/types.js';
import { isTimed } from './catalog.js';
import { DEFINITION_FIELDS, definitionJson, validateDefinition, type AutomationDefinition, type DefinitionError, type Step } from './definition.js';
import { publicContext } from './runner.js';
import { WATCH_POSITION } from './starts.js';

/**
 * What the admin API and the console do with automations: save a definition after checking it
 * and what it names on the site, delete, and replay a dead letter. The routes only read the
 * request and shape the answer.
 */

export const AUTOMATION_STATUSES: readonly AutomationStatus[] = ['draft', 'active', 'paused'];

/** The fields of an automation in a request body. */
export const AUTOMATION_FIELDS = ['site', 'name', 'status', ...DEFINITION_FIELDS] as const;

/** An automation as the admin API shows it. */
export function automationJson(a: AutomationRecord) {
  return {
    id: a.id,
    site: a.siteId,
    name: a.name,
    status: a.status,
    ...(a.definition as unknown as AutomationDefinition),
    createdAt: new Date(a.createdAt).toISOString(),
    updatedAt: new Date(a.updatedAt).toISOString(),
  };
}

/** A run as the admin API shows it; a dead letter's error in `error`. */
export function runJson(r: RunRecord) {
  const error = r.context.$error as JsonObject | undefined;
  return {
    id: r.id,
    automation: r.automationId,
    profile: r.profileId,
    status: r.status,
    holdout: r.holdout,
    position: r.position,
    context: publicContext(r.context),
    dueAt: r.dueAt === null ? null : new Date(r.dueAt).toISOString(),
    waitingFor: r.waitingFor,
    attempts: r.attempts,
    error: error ?? null,
    startedAt: new Date(r.startedAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
  };
}

/** Watches are the index of a time-set trigger, not runs a person went through. */
export const isRun = (r: RunRecord) => r.position !== WATCH_POSITION;

export const RUN_STATUSES: readonly RunStatus[] = ['active', 'done', 'exited', 'cancelled', 'failed'];

/**
 * One page of an automation's runs, newest first (API and console): watches left out, and a
 * filter on status read on until the page is full, at most 20 store pages at a time.
 */
export async function runsPage(ctx: AppContext, automation: AutomationRecord, query: { status?: RunStatus; profileId?: string; limit: number; cursor?: string }) {
  const runs: RunRecord[] = [];
  let cursor = query.cursor;
  let nextCursor: string | null = null;
  for (let pages = 0; pages < 20; pages++) {
    const page = await ctx.store.automations.listRuns({ siteId: automation.siteId, automationId: automation.id, profileId: query.profileId, limit: query.limit - runs.length, cursor });
    runs.push(...page.items.filter((r) => isRun(r) && (!query.status || r.status === query.status)));
    nextCursor = page.nextCursor;
    if (!nextCursor || runs.length >= query.limit) break;
    cursor = nextCursor;
  }
  return { runs, nextCursor };
}

/**
 * An automation from a request body: a new one, or `current` with the fields the body gives
 * replaced. Every problem of the definition is in the 400's details, each with its path.
 */
export async function automationFrom(ctx: AppContext, site: Site, body: Body, current: AutomationRecord | null): Promise<AutomationRecord> {
  const name = body.name ?? current?.name;
  if (typeof name !== 'string' || !name.trim()) throw invalidField('name', current ? 'must be a non-empty string' : 'is required');
  if (name.trim().length > 100) throw invalidField('name', 'must have at most 100 characters');
  const status = body.status ?? current?.status ?? 'draft';
  if (!AUTOMATION_STATUSES.includes(status as AutomationStatus)) throw invalidField('status', `must be one of ${AUTOMATION_STATUSES.join(', ')}`);

  const input: Record<string, unknown> = {};
  const before = (current?.definition ?? {}) as Record<string, unknown>;
  for (const field of DEFINITION_FIELDS) {
    const value = field in body ? body[field] : before[field];
    if (value !== undefined) input[field] = value;
  }
  const validation = validateDefinition(input);
  const errors: DefinitionError[] = validation.ok ? await referenceErrors(ctx, site, validation.definition) : validation.errors;
  if (errors.length) {
    const details = errors.map((e) => ({ field: e.path, message: e.message }));
    throw new HttpError(400, `${details[0].field}: ${details[0].message}`, details);
  }
  const now = ctx.now();
  return {
    id: current?.id ?? `aut_${newId()}`,
    siteId: site.id,
    name: name.trim(),
    status: status as AutomationStatus,
    definition: definitionJson((validation as { definition: AutomationDefinition }).definition),
    createdAt: current?.createdAt ?? now,
    updatedAt: now,
  };
}

/** What a valid definition names that the site must have: its segments and offers. */
async function referenceErrors(ctx: AppContext, site: Site, definition: AutomationDefinition): Promise<DefinitionError[]> {
  const catalog = await ctx.catalog.forSite(site.id);
  const errors: DefinitionError[] = [];
  const trigger = definition.trigger;
  for (const key of ['segmentEntered', 'segmentLeft'] as const) {
    if (key in trigger) {
      const id = (trigger as Record<string, string>)[key];
      if (!catalog.segments.has(id)) errors.push({ path: `trigger.${key}`, message: `no segment ${id} on this site` });
    }
  }
  const visit = (steps: Step[], path: string) =>
    steps.forEach((step, i) => {
      const at = `${path}[${i}]`;
      if ('offer' in step && !catalog.offers.has(step.offer.id)) errors.push({ path: `${at}.offer.id`, message: `no offer ${step.offer.id} on this site` });
      if ('then' in step) (visit(step.then, `${at}.then`), visit(step.else, `${at}.else`));
    });
  visit(definition.steps, 'steps');
  return errors;
}

/**
 * Saves an automation: a name taken on the site is a 409. Ingest on this node sees the change
 * at once; an automation (re)activated with a time-set trigger gets the watches of the profiles
 * that already have the moment it counts from.
 */
export async function saveAutomation(ctx: AppContext, automation: AutomationRecord, previous: AutomationRecord | null) {
  try {
    await ctx.store.automations.saveAutomation(automation);
  } catch (error) {
    if (error instanceof ConflictError) throw new HttpError(409, `name: ${error.message}`);
    throw error;
  }
  ctx.automations.changed(automation.siteId);
  const trigger = (automation.definition as unknown as AutomationDefinition).trigger;
  const wasWatching = previous?.status === 'active' && JSON.stringify(previous.definition.trigger) === JSON.stringify(trigger);
  if (automation.status === 'active' && 'attribute' in trigger && isTimed(trigger.attribute) && !wasWatching) {
    await ctx.automations.starter.watchExisting(automation.siteId, automation.id, (visit, after) => ctx.store.scanProfiles(automation.siteId, visit, after));
  }
}

export async function deleteAutomation(ctx: AppContext, automation: AutomationRecord) {
  await ctx.store.automations.deleteAutomation(automation.siteId, automation.id);
  ctx.automations.changed(automation.siteId);
}

/** An automation by id, in whichever site holds it. */
export async function findAutomation(ctx: AppContext, id: string): Promise<AutomationRecord> {
  for (const site of ctx.sites.list()) {
    const found = await ctx.store.automations.getAutomation(site.id, id);
    if (found) return found;
  }
  throw new HttpError(404, `no automation ${id}`);
}

/**
 * Sends a dead letter back to work: the failed step is due now, with fresh attempts and the
 * same idempotency key (a receiver that took an earlier attempt drops the repeat). A run that
 * is not failed is a 409.
 */
export async function replayRun(ctx: AppContext, automation: AutomationRecord, runId: string): Promise<RunRecord> {
  const run = await ctx.store.automations.getRun(automation.siteId, runId);
  if (!run || run.automationId !== automation.id) throw new HttpError(404, `no run ${runId} of automation ${automation.id}`);
  if (run.status !== 'failed') throw new HttpError(409, `run ${runId} is ${run.status}: only failed runs are replayed`);
  const now = ctx.now();
  const again: RunRecord = { ...run, status: 'active', dueAt: now, attempts: 0, context: publicContext(run.context), updatedAt: now };
  if (!(await ctx.store.automations.replayRun(again))) throw new HttpError(409, `run ${runId} was replayed already`);
  ctx.automations.scheduler.wake(now);
  return again;
}
