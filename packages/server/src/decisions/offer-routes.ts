import { Hono } from 'hono';
import type { AppContext } from '../app-context.js';
import { HttpError } from '../http/errors.js';
import { invalidField, jsonBody } from '../http/input.js';
import { newId } from '../ids.js';
import { siteOf } from '../sites/routes.js';
import { checkOffer, givenOfferFields, OFFER_DEFAULTS, OFFER_FIELDS } from './offer-input.js';
import { offerReport } from './report.js';
import { recommendationReport } from '../recommendations/report.js';
import type { Offer } from './types.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** An offer as the admin API shows it. */
export const offerJson = (o: Offer) => ({
  id: o.id,
  site: o.siteId,
  name: o.name,
  slot: o.slot,
  segment: o.segmentId,
  priority: o.priority,
  status: o.status,
  content: o.content,
  startsAt: iso(o.startsAt),
  endsAt: iso(o.endsAt),
  cap: o.cap,
  controlPercent: o.controlPercent,
  goal: o.goal,
  createdAt: iso(o.createdAt),
  updatedAt: iso(o.updatedAt),
});

/** `/api/offers`: CRUD, pause and resume (PATCH status), and the performance report. */
export function offerRoutes(ctx: AppContext) {
  const app = new Hono();

  app.get('/', async (c) => {
    const site = siteOf(ctx, c.req.query('site'));
    const slot = c.req.query('slot');
    const offers = (await ctx.store.listOffers(site.id)).filter((o) => !slot || o.slot === slot);
    return c.json({ offers: offers.map(offerJson) });
  });

  app.post('/', async (c) => {
    const body = await jsonBody(c, OFFER_FIELDS);
    const site = siteOf(ctx, body.site);
    const now = ctx.now();
    const offer: Offer = {
      ...OFFER_DEFAULTS,
      id: `off_${newId()}`,
      siteId: site.id,
      createdAt: now,
      updatedAt: now,
      ...givenOfferFields(body),
    };
    await save(ctx, offer);
    return c.json(offerJson(offer), 201);
  });

  app.get('/:id', async (c) => c.json(offerJson(await findOffer(ctx, c.req.param('id')))));

  // PUT replaces what it is given and resets the rest to defaults; PATCH changes only what it is given.
  for (const method of ['put', 'patch'] as const) {
    app[method]('/:id', async (c) => {
      const current = await findOffer(ctx, c.req.param('id'));
      const body = await jsonBody(c, OFFER_FIELDS);
      if (body.site !== undefined && body.site !== current.siteId) throw invalidField('site', 'an offer cannot move to another site');
      const base = method === 'put' ? { ...current, ...OFFER_DEFAULTS, name: current.name, slot: current.slot, content: current.content } : current;
      const offer: Offer = { ...base, ...givenOfferFields(body), updatedAt: ctx.now() };
      await save(ctx, offer);
      return c.json(offerJson(offer));
    });
  }

  app.delete('/:id', async (c) => {
    const offer = await findOffer(ctx, c.req.param('id'));
    await remove(ctx, offer);
    return c.json({ deleted: true, id: offer.id });
  });

  app.get('/:id/report', async (c) => {
    const offer = await findOffer(ctx, c.req.param('id'));
    const site = ctx.sites.get(offer.siteId);
    const report = await offerReport(ctx.store, offer, ctx.now(), site?.settings.timeZone);
    // An offer of product cards also answers for its products: clicks, attributed revenue.
    if (offer.content.type === 'recommendations' && site) return c.json({ ...report, recommendations: await recommendationReport(ctx.store, offer, site, ctx.now()) });
    return c.json(report);
  });

  return app;
}

/** Saves an offer (API and console): checked whole, its segment in its site; decisions see it at once. */
export async function save(ctx: AppContext, offer: Offer) {
  checkOffer(offer);
  if (offer.segmentId && !(await ctx.catalog.forSite(offer.siteId)).segments.has(offer.segmentId)) {
    throw invalidField('segment', `no segment ${offer.segmentId} in this site`);
  }
  await ctx.store.saveOffer(offer);
  ctx.catalog.invalidate(offer.siteId);
}

/** Deletes an offer (API and console) with its report; decisions stop showing it at once. The visitors' own events stay. */
export async function remove(ctx: AppContext, offer: Offer) {
  await ctx.store.deleteOffer(offer.siteId, offer.id);
  ctx.catalog.invalidate(offer.siteId);
}

/** An offer by id, in whichever site holds it. */
export async function findOffer(ctx: AppContext, id: string): Promise<Offer> {
  for (const site of ctx.sites.list()) {
    const hit = (await ctx.catalog.forSite(site.id)).offers.get(id);
    if (hit) return hit;
  }
  throw new HttpError(404, `no offer ${id}`);
}

