import type { Context } from 'hono';
import type { AppContext } from '../app-context.js';
import { checkOrigin, siteFromBody, siteFromHeaders, type SiteAuth } from './auth.js';
import { addressFor, limitedVisitor } from './visitor-ip.js';
import { readJsonBody, type JsonBody } from './read-body.js';

export interface SiteRequest {
  auth: SiteAuth;
  body: JsonBody;
  ip: string | null;
}

/**
 * The front half of every browser-facing call (collect, decide), in the order that costs least
 * for bad requests: the per-IP limit, credentials in headers, the body within its size limit,
 * credentials in the body, then the per-site limit. The origin is checked as soon as the site is
 * known: before the body is read when the headers name it.
 */
export async function readSiteRequest(c: Context, ctx: AppContext, limit: number): Promise<SiteRequest> {
  const visitor = limitedVisitor(c, ctx);
  const fromHeaders = await siteFromHeaders(c, ctx.sites);
  if (fromHeaders) checkOrigin(c, fromHeaders);
  const body = await readJsonBody(c, limit);
  const auth = fromHeaders ?? (await siteFromBody(body.value, ctx.sites));
  if (!fromHeaders) checkOrigin(c, auth);
  ctx.limits.perSite(auth.site.id);
  return { auth, body, ip: addressFor(visitor, auth.site) };
}
