import { Hono } from 'hono';
import type { AppContext } from '../app-context.js';
import { invalidField } from '../http/input.js';
import { siteOf } from '../sites/routes.js';
import { TOUCH_FIELDS, type TouchField } from '../store/store.js';
import type { Site } from '../store/types.js';
import { segmentTest } from '../segments/membership.js';
import { attribution, attributionCsv, segmentAttribution, type AttributionTouch } from './attribution.js';
import { rangeOf, type DayRange } from './days.js';
import { siteOverview } from './overview.js';

/**
 * `/api/reports`: the overview and attribution, from the rollups. Every report takes `site` and
 * a range of the site's local days: `from` and `to` (YYYY-MM-DD, inclusive) or `days` (7, 30, 90).
 */
export function reportRoutes(ctx: AppContext) {
  const app = new Hono();

  app.get('/overview', async (c) => {
    const { site, range } = siteAndRange(ctx, c.req.query());
    return c.json(await siteOverview(ctx.store, site, range));
  });

  app.get('/attribution', async (c) => {
    const q = c.req.query();
    const { site, range } = siteAndRange(ctx, q);
    const touch = touchParam(q.touch);
    const by = byParam(q.by);
    const report = q.segment
      ? await segmentAttribution(ctx.store, site, range, touch, by, await segmentTest(ctx, site.id, q.segment))
      : await attribution(ctx.store, site, range, touch, by);
    if (q.format === 'csv') {
      c.header('Content-Type', 'text/csv; charset=utf-8');
      c.header('Content-Disposition', `attachment; filename="attribution-${report.touch}-${report.by}.csv"`);
      return c.body(attributionCsv(report));
    }
    if (q.format !== undefined && q.format !== 'json') throw invalidField('format', 'must be json or csv');
    return c.json(report);
  });

  return app;
}

/** The site of `site` and the range of `from`/`to`/`days` in its time zone; a 400 names the field. */
export function siteAndRange(ctx: AppContext, q: Record<string, string | undefined>): { site: Site; range: DayRange } {
  const site = siteOf(ctx, q.site);
  try {
    return { site, range: rangeOf(q, ctx.now(), site.settings.timeZone) };
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    // rangeOf's messages are "field: reason".
    const [field, ...reason] = error.message.split(': ');
    throw invalidField(field, reason.join(': '));
  }
}

export function touchParam(value: string | undefined): AttributionTouch {
  if (value === undefined || value === '') return 'first';
  if (value === 'first' || value === 'last') return value;
  throw invalidField('touch', 'must be first or last');
}

export function byParam(value: string | undefined): TouchField {
  if (value === undefined || value === '') return 'source';
  if ((TOUCH_FIELDS as readonly string[]).includes(value)) return value as TouchField;
  throw invalidField('by', `must be one of ${TOUCH_FIELDS.join(', ')}`);
}
