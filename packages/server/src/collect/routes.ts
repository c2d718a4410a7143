import { Hono, type Context } from 'hono';
import { MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, MESSAGE_TYPES, type MessageType } from '@rapport/protocol';
import { checkOrigin, siteFromBody, siteFromHeaders } from '../http/auth.js';
import { clientIp } from '../http/client-ip.js';
import { HttpError } from '../http/errors.js';
import { readJsonBody } from '../http/read-body.js';
import type { AppContext } from '../app-context.js';
import { collect } from './collect.js';

/**
 * The collect API of the Segment tracking spec: `POST /v1/batch` and one message at
 * `POST /v1/{track,page,identify,alias,screen,group}`.
 */
export function collectRoutes(ctx: AppContext) {
  const app = new Hono();
  app.post('/batch', (c) => handle(c, ctx, 'batch'));
  for (const type of MESSAGE_TYPES) app.post(`/${type}`, (c) => handle(c, ctx, type));
  return app;
}

async function handle(c: Context, ctx: AppContext, endpoint: 'batch' | MessageType) {
  const ip = clientIp(c, ctx.options.trustProxy);
  ctx.limits.perIp(ip ?? 'unknown');
  const fromHeaders = await siteFromHeaders(c, ctx.sites);
  if (fromHeaders) checkOrigin(c, fromHeaders);
  const body = await readJsonBody(c, endpoint === 'batch' ? MAX_BATCH_BYTES : MAX_MESSAGE_BYTES);
  const auth = fromHeaders ?? (await siteFromBody(body.value, ctx.sites));
  if (!fromHeaders) checkOrigin(c, auth);
  ctx.limits.perSite(auth.site.id);
  const outcome = await collect(ctx.store, {
    site: auth.site,
    trusted: auth.trusted,
    body: body.value,
    bodyBytes: body.bytes,
    endpoint,
    clientIp: ip,
    userAgent: c.req.header('user-agent') ?? null,
    receivedAt: ctx.now(),
  });
  if (outcome.status !== 200) throw new HttpError(outcome.status, outcome.body.error, outcome.body.details);
  return c.json(outcome.body, 200);
}
