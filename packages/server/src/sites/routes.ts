import { Hono } from 'hono';
import type { AppContext } from '../app-context.js';
import { HttpError } from '../http/errors.js';
import { invalidField, jsonBody, optionalBoolean, optionalNumber, optionalString, optionalStringArray, requiredString } from '../http/input.js';
import type { Site, SiteSettings } from '../store/types.js';
import { isTimeZone } from '../reports/days.js';
import { normalizeOrigin } from './origins.js';
import { DEFAULT_BLOCKED_IDS, MAX_BLOCKED_ID_LENGTH, MAX_BLOCKED_IDS } from '../identity/blocked.js';
import { checkShownSegments, givesShownSegments, selfServiceSettingsOf } from '../self-service/settings.js';
import { recommendationSettingsOf } from '../recommendations/settings.js';

const SWITCHES = ['requireUserHash', 'storeFullIp', 'emailMatching', 'exposeSegments'] as const;
const SETTING_FIELDS = [...SWITCHES, 'retentionDays', 'timeZone', 'smtpUrl', 'mailFrom', 'quietHours', 'sendCap', 'blockedIds', 'maxAnonymousIds', 'maxMerges', 'selfService', 'recommendations'] as const;
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
    const given = settings(body);
    // A new site has no segments yet: none can be shown.
    if (given.selfService && givesShownSegments(body.selfService)) checkShownSegments(given.selfService, new Set());
    const site = await ctx.sites.create({
      name: requiredString(body, 'name', { max: 100 }),
      origins: origins(body) ?? [],
      settings: given,
    });
    return c.json(siteJson(site), 201);
  });

  app.get('/:id', (c) => c.json(siteJson(found(ctx, c.req.param('id')))));

  app.patch('/:id', async (c) => {
    const id = c.req.param('id');
    const current = found(ctx, id);
    const body = await jsonBody(c, ['name', 'origins', 'rotateSecret', ...SETTING_FIELDS]);
    const given = settings(body, current);
    // Only a list given now is checked: a segment deleted since the last save just stops showing.
    if (given.selfService && givesShownSegments(body.selfService)) checkShownSegments(given.selfService, await segmentIdsOf(ctx, id));
    const site = await ctx.sites.update(id, {
      name: optionalString(body, 'name', { min: 1, max: 100 }),
      origins: origins(body),
      settings: given,
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

/** The ids of a site's segments: what its self-service page may show. */
export const segmentIdsOf = async (ctx: AppContext, siteId: string) => new Set((await ctx.store.listSegments(siteId)).map((s) => s.id));

/** The settings of a body; `selfService` is merged over `current`'s (a PATCH names only what changes). */
function settings(body: Record<string, unknown>, current?: Site): Partial<SiteSettings> {
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
  Object.assign(out, mailSettings(body));
  if (body.blockedIds !== undefined) out.blockedIds = blockedIdsOf(body.blockedIds);
  for (const field of ['maxAnonymousIds', 'maxMerges'] as const) {
    const cap = optionalNumber(body, field, { integer: true, min: 1, max: 100_000 });
    if (cap !== undefined) out[field] = cap;
  }
  if (body.selfService !== undefined) out.selfService = selfServiceSettingsOf(body.selfService, current?.settings.selfService);
  if (body.recommendations !== undefined) out.recommendations = recommendationSettingsOf(body.recommendations, current?.settings.recommendations);
  return out;
}

/** A site's blocked identifier values (API and console): trimmed, without repeats; `null` restores the defaults. */
export function blockedIdsOf(value: unknown): string[] {
  if (value === null) return [...DEFAULT_BLOCKED_IDS];
  if (!Array.isArray(value) || value.length > MAX_BLOCKED_IDS) throw invalidField('blockedIds', `must be a list of at most ${MAX_BLOCKED_IDS} values, or null for the defaults`);
  const out = new Set<string>();
  value.forEach((v, i) => {
    if (typeof v !== 'string' || v.trim() === '' || v.length > MAX_BLOCKED_ID_LENGTH) {
      throw invalidField(`blockedIds[${i}]`, `must be a non-empty string of at most ${MAX_BLOCKED_ID_LENGTH} characters`);
    }
    out.add(v.trim());
  });
  return [...out];
}

/**
 * The automation settings of a body (API and console): the SMTP URL and From of emails, quiet
 * hours, and the cap on sends per person. `null` clears one.
 */
export function mailSettings(body: Record<string, unknown>): Partial<SiteSettings> {
  const out: Partial<SiteSettings> = {};
  if (body.smtpUrl !== undefined) out.smtpUrl = body.smtpUrl === null || body.smtpUrl === '' ? null : smtpUrlOf(body.smtpUrl);
  if (body.mailFrom !== undefined) {
    if (body.mailFrom === null || body.mailFrom === '') out.mailFrom = null;
    else if (typeof body.mailFrom !== 'string' || body.mailFrom.length > 200 || /[\r\n]/.test(body.mailFrom) || !/@[^\s@>]+\.[^\s@>]+>?\s*$/.test(body.mailFrom.trim())) {
      throw invalidField('mailFrom', 'must be one address, such as "Shop <shop@example.com>"');
    } else out.mailFrom = body.mailFrom.trim();
  }
  if (body.quietHours !== undefined) {
    const q = body.quietHours as { from?: unknown; to?: unknown } | null;
    const hour = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 23;
    if (q === null) out.quietHours = null;
    else if (typeof q !== 'object' || Array.isArray(q) || Object.keys(q).some((k) => k !== 'from' && k !== 'to') || !hour(q.from) || !hour(q.to) || q.from === q.to) {
      throw invalidField('quietHours', 'must be { "from": hour, "to": hour } with two different hours from 0 to 23 (22 to 8: the night), or null');
    } else out.quietHours = { from: q.from as number, to: q.to as number };
  }
  if (body.sendCap !== undefined) {
    const cap = body.sendCap as { sends?: unknown; days?: unknown } | null;
    const whole = (v: unknown, max: number) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= max;
    if (cap === null) out.sendCap = null;
    else if (typeof cap !== 'object' || Array.isArray(cap) || Object.keys(cap).some((k) => k !== 'sends' && k !== 'days') || !whole(cap.sends, 1000) || !whole(cap.days, 365)) {
      throw invalidField('sendCap', 'must be { "sends": 1 to 1000, "days": 1 to 365 }, or null for no cap');
    } else out.sendCap = { sends: cap.sends as number, days: cap.days as number };
  }
  return out;
}

/** An SMTP URL: smtp or smtps, a host, no path; what nodemailer is given, nothing else. */
function smtpUrlOf(value: unknown): string {
  const fail = () => invalidField('smtpUrl', 'must be an smtp:// or smtps:// URL with a host, such as "smtp://user:password@mail.example.com:587"');
  if (typeof value !== 'string' || value.length > 500) throw fail();
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw fail();
  }
  if ((url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || !url.hostname || (url.pathname !== '' && url.pathname !== '/') || url.hash) throw fail();
  return url.href;
}
