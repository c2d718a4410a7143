import { Hono } from 'hono';
import type { AppContext } from '../app-context.js';
import { HttpError } from '../http/errors.js';
import { invalidField, jsonBody, optionalBoolean, optionalNumber, optionalString, optionalStringArray, requiredString } from '../http/input.js';
import type { Site, SiteSettings } from '../store/types.js';
import { isTimeZone } from '../reports/days.js';
import { normalizeOrigin } from './origins.js';

const SWITCHES = ['requireUserHash', 'storeFullIp', 'emailMatching', 'exposeSegments'] as const;
const SETTING_FIELDS = [...SWITCHES, 'retentionDays', 'timeZone'] as const;
/** Ten years: longer is no retention at all (null). */
export const MAX_RETENTION_DAYS = 3650;

/** A site as the admin API shows it: settings flattened beside the keys. */
export function siteJson(site: Site) {
  return {
    id: site.id,
    name: site.name,
    writeKey: site.writeKey,
    secret: site.secret,
    origins: site.origins,
    ...site.settings,
    createdAt: new Date(site.createdAt).toISOString(),
  };
}

/** `POST /api/sites`, `GET /api/sites`, `GET /api/sites/:id`, `PATCH /api/sites/:id`. */
export function siteRoutes(ctx: AppContext) {
  const app = new Hono();

  app.get('/', (c) => c.json({ sites: ctx.sites.list().map(siteJson) }));

  app.post('/', async (c) => {
    const body = await jsonBody(c, ['name', 'origins', ...SETTING_FIELDS]);
    const site = await ctx.sites.create({
      name: requiredString(body, 'name', { max: 100 }),
      origins: origins(body) ?? [],
      settings: settings(body),
    });
    return c.json(siteJson(site), 201);
  });

  app.get('/:id', (c) => c.json(siteJson(found(ctx, c.req.param('id')))));

  app.patch('/:id', async (c) => {
    const id = c.req.param('id');
    found(ctx, id);
    const body = await jsonBody(c, ['name', 'origins', 'rotateSecret', ...SETTING_FIELDS]);
    const site = await ctx.sites.update(id, {
      name: optionalString(body, 'name', { min: 1, max: 100 }),
      origins: origins(body),
      settings: settings(body),
      rotateSecret: optionalBoolean(body, 'rotateSecret'),
    });
    return c.json(siteJson(site!));
  });

  return app;
}

export function found(ctx: AppContext, id: string): Site {
  const site = ctx.sites.get(id);
  if (!site) throw new HttpError(404, `no site ${id}`);
  return site;
}

/** The site a request names (`?site=`, or `site` of a body or form): a 400 when missing, a 404 when unknown. */
export function siteOf(ctx: AppContext, value: unknown): Site {
  const id = typeof value === 'string' ? value.trim() : value;
  if (id === undefined || id === null || id === '') throw invalidField('site', 'is required (the id of a site)');
  if (typeof id !== 'string') throw invalidField('site', 'must be a string');
  return found(ctx, id);
}

/** `origins` of a body (API and console): each one normalized, duplicates dropped. */
export function origins(body: Record<string, unknown>) {
  const list = optionalStringArray(body, 'origins', normalizeOrigin);
  return list && [...new Set(list)];
}

function settings(body: Record<string, unknown>): Partial<SiteSettings> {
  const out: Partial<SiteSettings> = {};
  for (const field of SWITCHES) {
    const value = optionalBoolean(body, field);
    if (value !== undefined) out[field] = value;
  }
  if (body.retentionDays === null) out.retentionDays = null;
  else {
    const days = optionalNumber(body, 'retentionDays', { integer: true, min: 1, max: MAX_RETENTION_DAYS });
    if (days !== undefined) out.retentionDays = days;
  }
  if (body.timeZone !== undefined) {
    if (!isTimeZone(body.timeZone)) throw invalidField('timeZone', 'must be an IANA time zone such as "Europe/Berlin" or "UTC"');
    out.timeZone = body.timeZone;
  }
  return out;
}
