import { Hono } from 'hono';
import { MESSAGE_TYPES, type MessageType } from '@rapport/protocol';
import type { AppContext } from '../app-context.js';
import { badRequest } from '../http/errors.js';
import { cursorParam, limitParam } from '../http/input.js';
import { siteOf } from '../sites/routes.js';
import { decodeCursor } from '../store/cursor.js';

/** `GET /api/events`: a site's events, newest first, with their enrichment. */
export function eventRoutes(ctx: AppContext) {
  const app = new Hono();
  app.get('/', async (c) => {
    const q = c.req.query();
    const site = siteOf(ctx, q.site);
    if (q.type && !(MESSAGE_TYPES as readonly string[]).includes(q.type)) {
      throw badRequest(`type: must be one of ${MESSAGE_TYPES.join(', ')}`);
    }
    const page = await ctx.store.listEvents({
      siteId: site.id,
      type: (q.type as MessageType) || undefined,
      profileId: q.profile || undefined,
      anonymousId: q.anonymousId || undefined,
      userId: q.userId || undefined,
      limit: limitParam(q.limit),
      cursor: cursorParam(q.cursor, decodeCursor),
    });
    return c.json({ events: page.items, nextCursor: page.nextCursor });
  });
  return app;
}
