import { Hono } from 'hono';
import type { AppContext } from '../app-context.js';
import type { Segment } from '../decisions/types.js';
import { HttpError } from '../http/errors.js';
import { invalidField, jsonBody, optionalString, requiredString, type Body } from '../http/input.js';
import { newId } from '../ids.js';
import { siteOf } from '../sites/routes.js';
import { ConflictError } from '../store/store.js';
import { countMembers } from './membership.js';
import type { Rule } from './rule.js';
import { validateRule } from './validate-rule.js';

/** A segment as the admin API shows it. */
export const segmentJson = (s: Segment, count?: number) => ({
  id: s.id,
  site: s.siteId,
  name: s.name,
  description: s.description,
  rule: s.rule,
  createdAt: new Date(s.createdAt).toISOString(),
  updatedAt: new Date(s.updatedAt).toISOString(),
  ...(count === undefined ? {} : { count }),
});

/** A rule from a request body: a 400 names the path and reason of the first problem, all in details. */
export function ruleOf(body: Body): Rule {
  if (body.rule === undefined) throw invalidField('rule', 'is required');
  const result = validateRule(body.rule);
  if (!result.ok) {
    // `(rule)` is how the validator names the rule itself; here the rule is the body's field `rule`.
    const details = result.errors.map((e) => ({ field: e.path === '(rule)' ? 'rule' : `rule.${e.path}`, message: e.message }));
    throw new HttpError(400, `${details[0].field}: ${details[0].message}`, details);
  }
  return result.rule;
}

/** The editable fields of a segment from a request body (API and console), validated in this order. */
export function segmentFields(body: Body): Pick<Segment, 'name' | 'description' | 'rule'> {
  return {
    name: requiredString(body, 'name', { max: 100 }),
    description: optionalString(body, 'description', { max: 500 }) ?? null,
    rule: ruleOf(body),
  };
}

/** `/api/segments`: CRUD, member counts and previews. */
export function segmentRoutes(ctx: AppContext) {
  const app = new Hono();

  app.get('/', async (c) => {
    const site = siteOf(ctx, c.req.query('site'));
    const segments = await ctx.store.listSegments(site.id);
    if (c.req.query('counts') !== 'true') return c.json({ segments: segments.map((s) => segmentJson(s)) });
    const counts = await countMembers(ctx, site.id, segments.map((s) => s.rule));
    return c.json({ segments: segments.map((s, i) => segmentJson(s, counts[i])) });
  });

  app.post('/preview', async (c) => {
    const body = await jsonBody(c, ['site', 'rule']);
    const site = siteOf(ctx, body.site);
    const [count] = await countMembers(ctx, site.id, [ruleOf(body)]);
    return c.json({ count });
  });

  app.post('/', async (c) => {
    const body = await jsonBody(c, ['site', 'name', 'description', 'rule']);
    const site = siteOf(ctx, body.site);
    const now = ctx.now();
    const segment: Segment = { id: `seg_${newId()}`, siteId: site.id, ...segmentFields(body), createdAt: now, updatedAt: now };
    await save(ctx, segment);
    return c.json(segmentJson(segment), 201);
  });

  app.get('/:id', async (c) => c.json(segmentJson(await findSegment(ctx, c.req.param('id')))));

  app.put('/:id', async (c) => {
    const current = await findSegment(ctx, c.req.param('id'));
    const body = await jsonBody(c, ['site', 'name', 'description', 'rule']);
    if (body.site !== undefined && body.site !== current.siteId) throw invalidField('site', 'a segment cannot move to another site');
    const segment: Segment = { ...current, ...segmentFields(body), updatedAt: ctx.now() };
    await save(ctx, segment);
    return c.json(segmentJson(segment));
  });

  app.delete('/:id', async (c) => {
    const segment = await findSegment(ctx, c.req.param('id'));
    await remove(ctx, segment);
    return c.json({ deleted: true, id: segment.id });
  });

  return app;
}

/** Saves a segment (API and console): a duplicate name is a 409; decisions see it at once. */
export async function save(ctx: AppContext, segment: Segment) {
  try {
    await ctx.store.saveSegment(segment);
  } catch (error) {
    if (error instanceof ConflictError) throw new HttpError(409, `name: ${error.message}`);
    throw error;
  }
  ctx.catalog.invalidate(segment.siteId);
}

/** The offers aimed at a segment: while there are any, it cannot be deleted. */
export async function offersUsing(ctx: AppContext, segment: Segment) {
  return (await ctx.store.listOffers(segment.siteId)).filter((o) => o.segmentId === segment.id);
}

/** Deletes a segment (API and console); a segment that offers still aim at is a 409, so no offer loses its audience. */
export async function remove(ctx: AppContext, segment: Segment) {
  const users = await offersUsing(ctx, segment);
  if (users.length) {
    throw new HttpError(409, `offers use this segment: ${users.map((o) => o.name).join(', ')}; change or delete them first`);
  }
  await ctx.store.deleteSegment(segment.siteId, segment.id);
  ctx.catalog.invalidate(segment.siteId);
}

/** A segment by id, in whichever site holds it (ids are unique across sites). */
export async function findSegment(ctx: AppContext, id: string): Promise<Segment> {
  for (const site of ctx.sites.list()) {
    const hit = (await ctx.catalog.forSite(site.id)).segments.get(id);
    if (hit) return hit.segment;
  }
  throw new HttpError(404, `no segment ${id}`);
}
