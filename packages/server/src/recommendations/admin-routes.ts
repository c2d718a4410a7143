import { Hono } from 'hono';
import type { AppContext } from '../app-context.js';
import { invalidField } from '../http/input.js';
import { siteOf } from '../sites/routes.js';
import { STRATEGIES } from './models/types.js';
import { DEFAULT_LIMIT } from './routes.js';
import { MAX_LIMIT } from './service.js';

/**
 * The admin side of recommendations (admin token):
 * - `POST /api/recommendations/train?site=`: trains the site's models now, waits, and answers their figures;
 * - `GET /api/recommendations/status?site=`: when the model was trained, its figures, the catalog's counts;
 * - `GET /api/recommendations?site=&strategy=&profile=&productId=&limit=`: what a person or a product
 *   page would be shown (the console's lists), the profile given by id since the caller is trusted.
 */
export function recommendationAdminRoutes(ctx: AppContext) {
  const app = new Hono();

  app.post('/train', async (c) => {
    const trained = await ctx.recommender.train(siteOf(ctx, c.req.query('site')));
    return c.json({ trainedAt: new Date(trained.trainedAt).toISOString(), stats: trained.stats, observedProducts: trained.observedProducts });
  });

  app.get('/status', async (c) => {
    const site = siteOf(ctx, c.req.query('site'));
    const [model, products] = await Promise.all([ctx.store.recommendations.modelStatus(site.id), ctx.store.recommendations.countProducts(site.id)]);
    return c.json({
      trainedAt: model ? new Date(model.trainedAt).toISOString() : null,
      stats: model?.stats ?? null,
      products,
      settings: site.settings.recommendations,
    });
  });

  app.get('/', async (c) => {
    const site = siteOf(ctx, c.req.query('site'));
    const strategy = c.req.query('strategy') ?? 'for-you';
    if (!(STRATEGIES as readonly string[]).includes(strategy)) throw invalidField('strategy', `must be one of ${STRATEGIES.join(', ')}`);
    const limitText = c.req.query('limit');
    const limit = limitText === undefined ? DEFAULT_LIMIT : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw invalidField('limit', `must be a whole number from 1 to ${MAX_LIMIT}`);
    const profileId = c.req.query('profile') || null;
    if (profileId !== null && profileId.length > 200) throw invalidField('profile', 'must be a profile id');
    const profile = profileId ? await ctx.store.getProfile(site.id, profileId) : null;
    if (profileId && !profile) throw invalidField('profile', `no profile ${profileId} on this site`);
    const productId = c.req.query('productId') || null;
    if (productId !== null && productId.length > 200) throw invalidField('productId', 'must be at most 200 characters');
    const answer = await ctx.recommender.recommend(site, { strategy: strategy as (typeof STRATEGIES)[number], profileId: profile?.id ?? null, productId, limit });
    return c.json({ strategy, items: answer.items, trainedAt: answer.trainedAt === null ? null : new Date(answer.trainedAt).toISOString() });
  });

  return app;
}
