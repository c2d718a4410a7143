import { Hono } from 'hono';
import type { AppContext } from '../app-context.js';
import { cursorParam, invalidField, jsonBody, limitParam, requiredString } from '../http/input.js';
import { siteOf } from '../sites/routes.js';
import { decodeCursorParts } from '../store/cursor.js';
import type { RunStatus } from '../store/automations.js';
import {
  AUTOMATION_FIELDS,
  automationFrom,
  automationJson,
  deleteAutomation,
  findAutomation,
  replayRun,
  RUN_STATUSES,
  runsPage,
  runJson,
  saveAutomation,
} from './admin.js';
import { automationReport } from './report.js';
import { sendTestEmail } from './test-send.js';

/**
 * `/api/automations`: CRUD, the report against the holdout, a person's or an automation's runs,
 * the replay of a dead letter, and a test send of its email.
 *
 * @example
 * POST /api/automations { "site": "site_1", "name": "Cart abandonment", "status": "active",
 *   "trigger": { "event": "Product Added" },
 *   "steps": [{ "waitFor": { "event": "Order Completed", "within": "1h" }, "else": [{ "email": { "subject": "Your cart", "text": "..." } }] }] }
 */
export function automationRoutes(ctx: AppContext) {
  const app = new Hono();

  app.get('/', async (c) => {
    const site = siteOf(ctx, c.req.query('site'));
    return c.json({ automations: (await ctx.store.automations.listAutomations(site.id)).map(automationJson) });
  });

  app.post('/', async (c) => {
    const body = await jsonBody(c, AUTOMATION_FIELDS);
    const site = siteOf(ctx, body.site);
    const automation = await automationFrom(ctx, site, body, null);
    await saveAutomation(ctx, automation, null);
    return c.json(automationJson(automation), 201);
  });

  app.get('/:id', async (c) => c.json(automationJson(await findAutomation(ctx, c.req.param('id')))));

  // The fields given replace the automation's; the others stay (a status alone pauses it).
  app.put('/:id', async (c) => {
    const current = await findAutomation(ctx, c.req.param('id'));
    const body = await jsonBody(c, AUTOMATION_FIELDS);
    if (body.site !== undefined && body.site !== current.siteId) throw invalidField('site', 'an automation cannot move to another site');
    const site = siteOf(ctx, current.siteId);
    const automation = await automationFrom(ctx, site, body, current);
    await saveAutomation(ctx, automation, current);
    return c.json(automationJson(automation));
  });

  app.delete('/:id', async (c) => {
    const automation = await findAutomation(ctx, c.req.param('id'));
    await deleteAutomation(ctx, automation);
    return c.json({ deleted: true, id: automation.id });
  });

  // Newest first; `profile` narrows to one person, `status=failed` lists the dead letters.
  app.get('/:id/runs', async (c) => {
    const automation = await findAutomation(ctx, c.req.param('id'));
    const status = c.req.query('status');
    if (status !== undefined && !RUN_STATUSES.includes(status as RunStatus)) throw invalidField('status', `must be one of ${RUN_STATUSES.join(', ')}`);
    const { runs, nextCursor } = await runsPage(ctx, automation, {
      status: status as RunStatus | undefined,
      profileId: c.req.query('profile') || undefined,
      limit: limitParam(c.req.query('limit')),
      cursor: cursorParam(c.req.query('cursor'), decodeCursorParts),
    });
    return c.json({ runs: runs.map(runJson), nextCursor });
  });

  app.get('/:id/report', async (c) => {
    const automation = await findAutomation(ctx, c.req.param('id'));
    return c.json(await automationReport(ctx.store, automation, ctx.now()));
  });

  // The first email of the steps, now, to one address: what a marketer checks before going live.
  app.post('/:id/test', async (c) => {
    const automation = await findAutomation(ctx, c.req.param('id'));
    const body = await jsonBody(c, ['to']);
    const to = requiredString(body, 'to', { max: 254, pattern: /^[^\s@,;<>]+@[^\s@,;<>]+$/, patternHint: 'must be one email address' });
    await sendTestEmail(ctx, siteOf(ctx, automation.siteId), automation, to);
    return c.json({ sent: true, to });
  });

  app.post('/:id/runs/:run/replay', async (c) => {
    const automation = await findAutomation(ctx, c.req.param('id'));
    return c.json(runJson(await replayRun(ctx, automation, c.req.param('run'))));
  });

  return app;
}
