import { Hono, type Context } from 'hono';
import { MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, MESSAGE_TYPES, SHORT_PATHS, type MessageType } from '@rapport/protocol';
import type { AppContext } from '../app-context.js';
import { HttpError } from '../http/errors.js';
import { readSiteRequest } from '../http/site-request.js';
import { collect } from './collect.js';

/**
 * The collect API of the Segment tracking spec: `POST /v1/batch` and one message at
 * `POST /v1/{track,page,identify,alias,screen,group}`, and the short paths of Segment's browser
 * library (`/v1/t`, `/v1/p`, ..., `/v1/b`).
 */
export function collectRoutes(ctx: AppContext) {
  const app = new Hono();
  app.post('/batch', (c) => handle(c, ctx, 'batch'));
  for (const type of MESSAGE_TYPES) app.post(`/${type}`, (c) => handle(c, ctx, type));
  for (const [short, endpoint] of Object.entries(SHORT_PATHS)) app.post(`/${short}`, (c) => handle(c, ctx, endpoint));
  return app;
}

async function handle(c: Context, ctx: AppContext, endpoint: 'batch' | MessageType) {
  const { auth, body, ip } = await readSiteRequest(c, ctx, endpoint === 'batch' ? MAX_BATCH_BYTES : MAX_MESSAGE_BYTES);
  const outcome = await collect(ctx.ingester, {
    site: auth.site,
    trusted: auth.trusted,
    body: body.value,
    bodyBytes: body.bytes,
    endpoint,
    clientIp: ip,
    userAgent: c.req.header('user-agent') ?? null,
    receivedAt: ctx.now(),
    cookielessId: () => ctx.cookieless.idFor(auth.site.id, ip, c.req.header('user-agent') ?? null),
  }, ctx.automations.starter);
  if (outcome.status !== 200) throw new HttpError(outcome.status, outcome.body.error, outcome.body.details);
  return c.json(outcome.body, 200);
}
