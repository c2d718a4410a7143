import type { Context } from 'hono';
import type { AppContext } from '../../app-context.js';
import { HttpError } from '../../http/errors.js';
import type { Site } from '../../store/types.js';
import { requestOrigin } from '../access/security.js';
import type { ConsoleEnv } from '../env.js';

type Params = Record<string, string | number | null | undefined>;

/** What every console page knows about the request: the session's CSRF token and the chosen site. */
export interface Here {
  csrf: string;
  sites: Site[];
  /** The site being looked at (`?site=`, else the first); null when there is none yet. */
  site: Site | null;
  now: number;
  /** The server's origin as the browser sees it. */
  origin: string;
  /** A console URL that keeps the chosen site: `to('/console/customers', { q: 'ann' })`. */
  to(path: string, params?: Params): string;
}

/** A URL with query parameters; empty ones are left out. */
export function withQuery(path: string, params: Params = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== null && value !== undefined && value !== '') query.set(key, String(value));
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * The request's view of the console. `site` (a site or its id) overrides `?site=`: the page of a
 * customer or an offer belongs to that thing's site whatever the URL says.
 */
export function hereOf(c: Context<ConsoleEnv>, ctx: AppContext, site?: Site | string | null): Here {
  const sites = ctx.sites.list();
  const chosen = typeof site === 'string' ? siteById(ctx, site) : site !== undefined ? site : (siteParam(c, ctx) ?? sites[0] ?? null);
  return {
    csrf: c.get('session').csrf,
    sites,
    site: chosen,
    now: ctx.now(),
    origin: requestOrigin(c, ctx.options.trustProxy),
    to: (path, params = {}) => withQuery(path, { site: chosen?.id, ...params }),
  };
}

function siteParam(c: Context, ctx: AppContext): Site | null {
  const id = c.req.query('site');
  return id ? siteById(ctx, id) : null;
}

function siteById(ctx: AppContext, id: string): Site {
  const site = ctx.sites.get(id);
  if (!site) throw new HttpError(404, `There is no site ${id}.`);
  return site;
}
