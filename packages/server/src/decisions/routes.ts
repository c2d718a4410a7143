import { Hono } from 'hono';
import { MAX_ID_LENGTH, MAX_MESSAGE_BYTES, SLOT_EVENTS, type DecideResponse, type JsonObject } from '@rapport/protocol';
import type { AppContext } from '../app-context.js';
import { httpTarget } from '../collect/hit.js';
import { pixelUrl } from '../collect/pixel.js';
import { redirectUrl } from '../collect/redirect.js';
import { isObject } from '../collect/validate.js';
import { pathOf } from '../enrich/enrich.js';
import { campaignOf, referralOf } from '../enrich/referral.js';
import { parseUserAgent } from '../enrich/user-agent.js';
import { HttpError } from '../http/errors.js';
import { invalidField as bad } from '../http/input.js';
import { readSiteRequest } from '../http/site-request.js';
import { userHashOf, verifyUserHash } from '../identity/verify.js';
import type { ProfileRecord } from '../profiles/types.js';
import type { CurrentContext } from '../segments/subject.js';
import type { Identity, Site } from '../store/types.js';
import { fillRecommendations } from '../recommendations/offer-items.js';
import { decide } from './decide.js';

export const SLOT_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;
/** What SLOT_NAME allows, for error messages. */
export const SLOT_NAME_HINT = '1 to 100 letters, digits, or _ . : -';
const MAX_SLOTS = 50;

interface DecideBody {
  anonymousId: string | null;
  userId: string | null;
  slots: string[];
  page: JsonObject | null;
  campaign: JsonObject | null;
  userAgent: string | null;
  userHash: unknown;
  /** `context.cookieless`: the browser stores no id, the server derives it. */
  cookieless: boolean;
  /** Each decision gets the URLs that record its slot events without the SDK. */
  links: boolean;
}

/** `POST /v1/decide`: every personalized slot of one page view, in one call. */
export function decideRoutes(ctx: AppContext) {
  const app = new Hono();
  app.post('/decide', async (c) => {
    const { auth, body, ip } = await readSiteRequest(c, ctx, MAX_MESSAGE_BYTES);
    const request = parseDecideBody(body.value);
    const site = auth.site;
    // The same id as the browser's messages get in cookieless mode (see collect.ts).
    if (request.cookieless && !auth.trusted) request.anonymousId = await ctx.cookieless.idFor(site.id, ip, c.req.header('user-agent') ?? null);
    if (!request.anonymousId && !request.userId) throw bad('anonymousId', 'an anonymousId or a userId is required');
    // Decide reads a profile back into the page (traits, codes), so a bare user id, which anyone
    // holding the public write key can type, never selects a customer, whatever the site's
    // verification setting; the anonymous id, which only the visitor's browser holds, still does.
    const vouched = request.userId !== null && (auth.trusted || verifyUserHash(site.secret, request.userId, request.userHash));
    const userId = vouched ? request.userId : null;
    let profile = await findProfile(ctx, site, userId, request.anonymousId);
    // A cookieless id is shared by everyone behind one /24 with the same browser that day: it
    // never shows a known customer's traits or codes to a page without their verified user id.
    if (request.cookieless && profile?.userId && profile.userId !== userId) profile = null;
    const url = typeof request.page?.url === 'string' ? request.page.url : null;
    const referrer = typeof request.page?.referrer === 'string' ? request.page.referrer : null;
    const userAgent = request.userAgent ?? c.req.header('user-agent') ?? null;
    const campaign = request.page ? campaignOf(url, request.campaign) : null;
    const current: CurrentContext = {
      referral: request.page ? referralOf(referrer, url, campaign) : null,
      campaign,
      page: request.page ? { url, path: typeof request.page.path === 'string' ? request.page.path : pathOf(url) } : null,
      device: userAgent ? parseUserAgent(userAgent) : null,
    };
    const catalog = await ctx.catalog.forSite(site.id);
    const now = ctx.now();
    const answer: DecideResponse = decide({
      site,
      slots: request.slots,
      profile,
      visitorKey: profile?.computed.firstId ?? profile?.id ?? request.anonymousId ?? userId ?? '',
      userId,
      current,
      catalog,
      rankings: catalog.usesRankings ? ctx.rankings.peek(site.id) : null,
      now,
    });
    await fillRecommendations(ctx.recommender, site, answer, profile?.id ?? null);
    if (request.userId && !vouched) {
      answer.warnings = [
        {
          code: 'unverified_user',
          field: 'context.userHash',
          message: `userId ${request.userHash === undefined ? 'has no' : 'has an invalid'} context.userHash; the decision is for the anonymous id alone`,
        },
      ];
    }
    if (request.links) {
      const base = ctx.automations.links.publicUrl() || new URL(c.req.url).origin;
      addLinks(answer, { base, site, anonymousId: request.anonymousId, userId, pageUrl: url });
    }
    c.header('Cache-Control', 'no-store');
    return c.json(answer);
  });
  return app;
}

interface LinksFor {
  /** This server's public URL. */
  base: string;
  site: Site;
  anonymousId: string | null;
  /** The user id only when it was vouched for: a link never vouches for one that was not. */
  userId: string | null;
  pageUrl: string | null;
}

/**
 * The URLs that record what the SDK records about a slot, for where it does not run (an email, a
 * page without JavaScript): `impression`, a pixel of `Offer Viewed` (`Offer Control Exposed` for
 * the control group, whose page shows its default), and for content with a link, `click`, a
 * redirect to the link signed with the site secret that records `Offer Clicked`, with the same
 * properties as the SDK's (`offerId`, `slot`, `variant`), so that offer reports count both alike.
 * A link that is a site path is made absolute on the request page's origin when that is one of
 * the site's (never on an origin the caller chose), else on the site's first origin.
 */
function addLinks(answer: DecideResponse, who: LinksFor) {
  const { base, site } = who;
  const person = { ...(who.anonymousId ? { a: who.anonymousId } : {}), ...(who.userId ? { u: who.userId } : {}) };
  // The pixel is a write-key call: its user id counts with the hash that the site's backend would give the SDK.
  const hash = who.userId ? { h: userHashOf(site.secret, who.userId) } : {};
  for (const [slot, decision] of Object.entries(answer.slots)) {
    if (!decision) continue;
    const p = JSON.stringify({ offerId: decision.offerId, slot, variant: decision.variant });
    if (decision.variant === 'control') {
      decision.links = { impression: pixelUrl(base, { k: site.writeKey, e: SLOT_EVENTS.control, ...person, ...hash, p }) };
      continue;
    }
    if (!decision.content) continue;
    const links: NonNullable<typeof decision.links> = { impression: pixelUrl(base, { k: site.writeKey, e: SLOT_EVENTS.impression, ...person, ...hash, p }) };
    const target = decision.content.link && absoluteLink(decision.content.link, site, who.pageUrl);
    if (target) links.click = redirectUrl(base, site.secret, { k: site.writeKey, to: target, e: SLOT_EVENTS.click, ...person, p });
    decision.links = links;
  }
}

function absoluteLink(link: string, site: Site, pageUrl: string | null): string | null {
  if (!link.startsWith('/') || link.startsWith('//')) return httpTarget(link);
  const pageOrigin = originOf(pageUrl);
  const origin = pageOrigin && site.origins.includes(pageOrigin) ? pageOrigin : site.origins[0];
  return origin ? httpTarget(origin + link) : null;
}

function originOf(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** The profile of the user id (or the user id it was aliased from), else of the anonymous id. */
export function findProfile(ctx: AppContext, site: Site, userId: string | null, anonymousId: string | null): Promise<ProfileRecord | null> {
  const keys: Identity[] = [];
  if (userId) keys.push({ kind: 'user', value: userId }, { kind: 'alias', value: userId });
  if (anonymousId) keys.push({ kind: 'anonymous', value: anonymousId });
  return ctx.store.findProfile(site.id, keys);
}

/** Validates a decide body into typed values; a 400 names the field and the reason. */
export function parseDecideBody(value: unknown): DecideBody {
  if (!isObject(value)) throw new HttpError(400, 'the body must be a JSON object');
  const id = (field: 'anonymousId' | 'userId') => {
    const v = value[field];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || v === '' || v.length > MAX_ID_LENGTH) {
      throw bad(field, `must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
    }
    return v;
  };
  const anonymousId = id('anonymousId');
  const userId = id('userId');
  const slots = value.slots;
  if (!Array.isArray(slots) || slots.length === 0 || slots.length > MAX_SLOTS) {
    throw bad('slots', `must be an array of 1 to ${MAX_SLOTS} slot names`);
  }
  slots.forEach((slot, i) => {
    if (typeof slot !== 'string' || !SLOT_NAME.test(slot)) {
      throw bad(`slots[${i}]`, `must be a slot name: ${SLOT_NAME_HINT}`);
    }
  });
  const context = value.context === undefined || value.context === null ? {} : value.context;
  if (!isObject(context)) throw bad('context', 'must be a JSON object');
  const object = (field: 'page' | 'campaign') => {
    const v = context[field];
    if (v === undefined || v === null) return null;
    if (!isObject(v)) throw bad(`context.${field}`, 'must be a JSON object');
    return v;
  };
  const userAgent = context.userAgent;
  if (userAgent !== undefined && typeof userAgent !== 'string') throw bad('context.userAgent', 'must be a string');
  if (value.links !== undefined && typeof value.links !== 'boolean') throw bad('links', 'must be true or false');
  return {
    anonymousId,
    userId,
    slots: [...new Set(slots as string[])],
    page: object('page'),
    campaign: object('campaign'),
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 1024) : null,
    userHash: context.userHash,
    cookieless: context.cookieless === true,
    links: value.links === true,
  };
}
