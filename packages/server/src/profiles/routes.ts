import { Hono, type Context } from 'hono';
import type { AppContext } from '../app-context.js';
import { HttpError } from '../http/errors.js';
import { cursorParam, jsonBody, limitParam, optionalBoolean, optionalString, requiredString } from '../http/input.js';
import { mergeByOperator, previewMerge } from '../identity/operator-merge.js';
import { splitProfile } from '../identity/split.js';
import { ConflictError } from '../store/store.js';
import { membersPage, segmentsOfProfile } from '../segments/membership.js';
import { findSegment } from '../segments/routes.js';
import { siteOf } from '../sites/routes.js';
import { decodeCursorParts, encodeCursor } from '../store/cursor.js';
import { UTC } from '../reports/days.js';
import { uncountPerson } from '../reports/rollups.js';
import type { ProfileRecord } from './types.js';
import { computedView, mergeView, profileSummary } from './view.js';

/** `/api/profiles`: search, the 360-degree profile, its timeline, export and erasure. */
export function profileRoutes(ctx: AppContext) {
  const app = new Hono();

  app.get('/', async (c) => {
    const q = c.req.query();
    const site = siteOf(ctx, q.site);
    const limit = limitParam(q.limit);
    const cursor = cursorParam(q.cursor, decodeCursorParts);
    const rankings = await ctx.rankings.get(site.id);
    const now = ctx.now();
    if (q.segment) {
      const segment = await findSegment(ctx, q.segment);
      if (segment.siteId !== site.id) throw new HttpError(400, `segment: ${segment.id} belongs to another site`);
      const catalog = await ctx.catalog.forSite(site.id);
      const page = await membersPage(ctx, site.id, catalog.segments.get(segment.id)!.matches, catalog.usesRankings, limit, cursor);
      const last = page.items.at(-1);
      return c.json({
        profiles: page.items.map((p) => profileSummary(p, now, rankings)),
        nextCursor: page.more && last ? encodeCursor(last.computed.lastSeen ?? 0, last.id) : null,
      });
    }
    const page = await ctx.store.listProfiles({
      siteId: site.id,
      userId: q.userId || undefined,
      anonymousId: q.anonymousId || undefined,
      email: q.email || undefined,
      q: q.q?.trim() || undefined,
      limit,
      cursor,
    });
    return c.json({ profiles: page.items.map((p) => profileSummary(p, now, rankings)), nextCursor: page.nextCursor });
  });

  app.get('/:id', async (c) => {
    const profile = await live(c, ctx);
    if (profile instanceof Response) return profile;
    const [identities, merges, rankings, segments] = await Promise.all([
      ctx.store.profileIdentities(profile.siteId, profile.id),
      ctx.store.profileMerges(profile.siteId, profile.id),
      ctx.rankings.get(profile.siteId),
      segmentsOfProfile(ctx, profile),
    ]);
    return c.json({
      id: profile.id,
      siteId: profile.siteId,
      userId: profile.userId,
      email: profile.email,
      identities,
      traits: profile.traits,
      computed: computedView(profile.computed, profile.id, ctx.now(), rankings),
      segments,
      merges: merges.map(mergeView),
      createdAt: new Date(profile.createdAt).toISOString(),
      updatedAt: new Date(profile.updatedAt).toISOString(),
    });
  });

  app.get('/:id/events', async (c) => {
    const profile = await live(c, ctx);
    if (profile instanceof Response) return profile;
    const page = await ctx.store.profileEvents(
      profile.siteId,
      profile.id,
      limitParam(c.req.query('limit')),
      cursorParam(c.req.query('cursor'), decodeCursorParts),
    );
    return c.json({ events: page.items, nextCursor: page.nextCursor });
  });

  app.get('/:id/export', async (c) => {
    const profile = await live(c, ctx);
    if (profile instanceof Response) return profile;
    c.header('Content-Disposition', `attachment; filename="profile-${profile.id}.json"`);
    return c.json(await profileExport(ctx, profile));
  });

  // Repairs by an operator: a merge (previewed first) and a split that undoes one.
  app.post('/:id/merge', async (c) => {
    const profile = await live(c, ctx);
    if (profile instanceof Response) return profile;
    const body = await jsonBody(c, ['from', 'preview', 'by']);
    const from = requiredString(body, 'from', { max: 64 });
    const by = optionalString(body, 'by', { max: 100 }) ?? 'admin API';
    const site = ctx.sites.get(profile.siteId)!;
    const preview = await refused(() => previewMerge(ctx.store, site, profile.id, from));
    if (!preview) throw new HttpError(404, `from: no profile ${from} in this profile's site`);
    if (optionalBoolean(body, 'preview')) return c.json({ preview });
    const done = (await refused(() => mergeByOperator(ctx.store, site, profile.id, from, by, ctx.now())))!;
    ctx.rankings.invalidate(site.id);
    return c.json({ merged: true, id: done.into.id, from, merge: mergeView(done.merge), preview });
  });

  app.post('/:id/split', async (c) => {
    const profile = await live(c, ctx);
    if (profile instanceof Response) return profile;
    const body = await jsonBody(c, ['from', 'by']);
    const from = requiredString(body, 'from', { max: 64 });
    const by = optionalString(body, 'by', { max: 100 }) ?? 'admin API';
    const site = ctx.sites.get(profile.siteId)!;
    const tombstone = await ctx.store.getProfile(site.id, from);
    if (!tombstone) throw new HttpError(404, `from: no profile ${from} in this profile's site`);
    if (tombstone.mergedInto !== profile.id) throw new HttpError(409, `from: profile ${from} is not merged into ${profile.id}`);
    const done = (await refused(() => splitProfile(ctx.store, site, from, by, ctx.now())))!;
    ctx.rankings.invalidate(site.id);
    return c.json({
      split: true,
      restored: { id: done.restored.id, userId: done.restored.userId, identities: done.identities, events: done.events },
      live: { id: done.live.id, userId: done.live.userId },
      record: mergeView(done.split),
    });
  });

  app.delete('/:id', async (c) => {
    const profile = await live(c, ctx);
    if (profile instanceof Response) return profile;
    const removed = await eraseProfile(ctx, profile);
    return c.json({ deleted: true, id: profile.id, removed });
  });

  return app;
}

/** A repair that the profiles' state refuses (`ConflictError`) answers 409 with the reason. */
export async function refused<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ConflictError) throw new HttpError(409, error.message);
    throw error;
  }
}

/**
 * The profile of the URL, searched in every site (ids are unique across sites). A profile that
 * was merged away answers with a redirect to the one it lives on in.
 */
async function live(c: Context, ctx: AppContext): Promise<ProfileRecord | Response> {
  const id = c.req.param('id')!;
  const profile = await findProfile(ctx, id);
  if (!profile) throw new HttpError(404, `no profile ${id}`);
  if (profile.mergedInto) {
    const url = new URL(c.req.url);
    url.pathname = url.pathname.replace(`/profiles/${id}`, `/profiles/${profile.mergedInto}`);
    return c.redirect(url.pathname + url.search, 308);
  }
  return profile;
}

/** A profile by id, in whichever site holds it (ids are unique across sites); tombstones included. */
export async function findProfile(ctx: AppContext, id: string): Promise<ProfileRecord | null> {
  for (const site of ctx.sites.list()) {
    const profile = await ctx.store.getProfile(site.id, id);
    if (profile) return profile;
  }
  return null;
}

/** Everything stored about a person, as the export download hands it over (API and console). */
export async function profileExport(ctx: AppContext, profile: ProfileRecord) {
  const data = (await ctx.store.exportProfile(profile.siteId, profile.id))!;
  const site = ctx.sites.get(profile.siteId)!;
  return {
    exportedAt: new Date(ctx.now()).toISOString(),
    site: { id: site.id, name: site.name },
    profile: {
      id: profile.id,
      userId: profile.userId,
      email: profile.email,
      traits: profile.traits,
      traitTimes: Object.fromEntries(Object.entries(profile.traitTimes).map(([k, v]) => [k, new Date(v).toISOString()])),
      computed: computedView(profile.computed, profile.id, ctx.now()),
      createdAt: new Date(profile.createdAt).toISOString(),
    },
    identities: data.identities,
    merges: data.merges.map(mergeView),
    events: data.events,
  };
}

/**
 * Erasure (API and console): the profile, its identities, events and history, and what they
 * counted for in the rollups; rankings forget it at once.
 */
export async function eraseProfile(ctx: AppContext, profile: ProfileRecord) {
  const timeZone = ctx.sites.get(profile.siteId)?.settings.timeZone ?? UTC;
  const removed = await ctx.store.deleteProfile(profile.siteId, profile.id, (stored, events) => uncountPerson(stored, events, timeZone));
  ctx.rankings.invalidate(profile.siteId);
  return removed;
}
