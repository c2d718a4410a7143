import { Hono } from 'hono';
import { MAX_ID_LENGTH, type RecommendationStrategy } from '@rapport/protocol';
import type { AppContext } from '../app-context.js';
import { isObject } from '../collect/validate.js';
import { findProfile } from '../decisions/routes.js';
import { HttpError } from '../http/errors.js';
import { invalidField as bad } from '../http/input.js';
import { readSiteRequest } from '../http/site-request.js';
import { verifyUserHash } from '../identity/verify.js';
import { STRATEGIES } from './models/types.js';
import { MAX_LIMIT } from './service.js';

/** A recommendations body is small: ids, a strategy and a few fields of context. */
const MAX_BODY_BYTES = 8 * 1024;
export const DEFAULT_LIMIT = 10;
const MAX_CATEGORY_LENGTH = 200;
/** As the catalog keeps them (feed.ts, interactions.ts). */
const MAX_PRODUCT_ID_LENGTH = 200;

export interface RecommendationsBody {
  anonymousId: string | null;
  userId: string | null;
  userHash: unknown;
  strategy: RecommendationStrategy;
  productId: string | null;
  category: string | null;
  limit: number;
  cookieless: boolean;
}

/**
 * `POST /v1/recommendations` with the write key:
 * `{ anonymousId | userId, strategy, productId?, category?, limit?, context? }` →
 * `{ items: [{ productId, name, price, currency, url, imageUrl, reason, score }], trainedAt }`.
 * The same identity rule as decide: a user id selects a customer only with its `context.userHash`.
 */
export function recommendationRoutes(ctx: AppContext) {
  const app = new Hono();
  app.post('/recommendations', async (c) => {
    const { auth, body, ip } = await readSiteRequest(c, ctx, MAX_BODY_BYTES);
    const request = parseRecommendationsBody(body.value);
    const site = auth.site;
    if (request.cookieless && !auth.trusted) request.anonymousId = await ctx.cookieless.idFor(site.id, ip, c.req.header('user-agent') ?? null);
    if (!request.anonymousId && !request.userId) throw bad('anonymousId', 'an anonymousId or a userId is required');
    const vouched = request.userId !== null && (auth.trusted || verifyUserHash(site.secret, request.userId, request.userHash));
    let profile = await findProfile(ctx, site, vouched ? request.userId : null, request.anonymousId);
    // As in decide: a cookieless id is shared, it never reads a known customer's history.
    if (request.cookieless && profile?.userId && profile.userId !== (vouched ? request.userId : null)) profile = null;
    const { items, trainedAt } = await ctx.recommender.recommend(site, {
      strategy: request.strategy,
      profileId: profile?.id ?? null,
      productId: request.productId,
      category: request.category,
      limit: request.limit,
    });
    c.header('Cache-Control', 'no-store');
    return c.json({ strategy: request.strategy, items, trainedAt: trainedAt === null ? null : new Date(trainedAt).toISOString() });
  });
  return app;
}

/** Validates a recommendations body into typed values; a 400 names the field and the reason. */
export function parseRecommendationsBody(value: unknown): RecommendationsBody {
  if (!isObject(value)) throw new HttpError(400, 'the body must be a JSON object');
  const string = (field: string, v: unknown, max: number) => {
    if (v === undefined || v === null) return null;
    if (typeof v === 'number' && Number.isFinite(v) && field === 'productId') return String(v);
    if (typeof v !== 'string' || v === '' || v.length > max) throw bad(field, `must be a non-empty string of at most ${max} characters`);
    return v;
  };
  const strategy = value.strategy;
  if (typeof strategy !== 'string' || !(STRATEGIES as readonly string[]).includes(strategy)) {
    throw bad('strategy', `must be one of ${STRATEGIES.join(', ')}`);
  }
  let limit = DEFAULT_LIMIT;
  if (value.limit !== undefined && value.limit !== null) {
    if (typeof value.limit !== 'number' || !Number.isInteger(value.limit) || value.limit < 1 || value.limit > MAX_LIMIT) throw bad('limit', `must be a whole number from 1 to ${MAX_LIMIT}`);
    limit = value.limit;
  }
  const context = value.context === undefined || value.context === null ? {} : value.context;
  if (!isObject(context)) throw bad('context', 'must be a JSON object');
  return {
    anonymousId: string('anonymousId', value.anonymousId, MAX_ID_LENGTH),
    userId: string('userId', value.userId, MAX_ID_LENGTH),
    userHash: context.userHash,
    strategy: strategy as RecommendationStrategy,
    productId: string('productId', value.productId, MAX_PRODUCT_ID_LENGTH),
    category: string('category', value.category, MAX_CATEGORY_LENGTH),
    limit,
    cookieless: context.cookieless === true,
  };
}
