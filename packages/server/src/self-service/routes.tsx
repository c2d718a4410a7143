import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppContext } from '../app-context.js';
import { clientIp, clientKey } from '../http/client-ip.js';
import { HttpError, httpErrorOf } from '../http/errors.js';
import { eraseProfile, profileExport } from '../profiles/routes.js';
import type { ProfileRecord } from '../profiles/types.js';
import type { Site } from '../store/types.js';
import { changeConsentBySelfService, changeTraitsBySelfService } from './actions.js';
import { consentChanges } from './consent-form.js';
import { verifySelfServiceToken, type TokenCheck } from './link.js';
import { DeniedPage, ErasedPage, ErasePage, NothingKeptPage, PersonPage, ProblemPage, type PageState } from './page.js';
import { PAGE_CSS_SOURCE } from './style.js';
import { FormProblem, traitChanges } from './traits.js';
import { personView, selfServiceOf } from './view.js';

/** A form of the page is a few KB at most; more is refused before it is parsed. */
export const MAX_FORM_BYTES = 16 * 1024;

const NOTICES: Record<string, string> = {
  traits: 'Your details are saved.',
  consent: 'Your choices are saved.',
  unchanged: 'Nothing changed: what you sent is what was kept already.',
};

/**
 * `/me/:token`: the customer self-service page (docs/self-service.md). The token in the path is
 * the credential, signed by the site's backend with the site secret (`link.ts`); there is no
 * cookie, so the forms need no CSRF token beyond it. `GET /me/:token` shows what is kept;
 * `POST .../traits` and `.../consent` change it (trusted messages through the ingest pipeline,
 * marked `context.source: "self-service"`); `GET .../export` downloads it; `GET .../erase`
 * asks and `POST .../erase` erases. A link that does not verify is a 403 page saying whether it
 * expired or is not valid; every answer is kept out of caches, referrers and search engines.
 *
 * @example
 * app.route('/me', selfServiceRoutes(ctx));
 */
export function selfServiceRoutes(ctx: AppContext) {
  const app = new Hono();

  app.use('*', async (c, next) => {
    await next();
    const h = c.res.headers;
    if (!h.has('Content-Security-Policy')) h.set('Content-Security-Policy', pagePolicy(null));
    // The token is in the URL: no Referer may carry it to the site's stylesheet or logo host.
    h.set('Referrer-Policy', 'no-referrer');
    h.set('Cache-Control', 'no-store');
    h.set('X-Robots-Tag', 'noindex, nofollow');
    h.set('X-Content-Type-Options', 'nosniff');
    h.set('X-Frame-Options', 'DENY');
  });
  app.onError((error, c) => {
    const http = httpErrorOf(error);
    if (!http) console.error('rapport: unexpected error on', c.req.method, c.req.path, error);
    for (const [name, value] of Object.entries(http?.headers ?? {})) c.header(name, value);
    const status = http?.status ?? 500;
    const title = status === 429 ? 'Too many requests' : status === 503 ? 'Please try again shortly' : status >= 500 ? 'Something went wrong' : 'This could not be done';
    // A 4xx and a 503 say what to do; anything else is a bug, whose details stay in the log.
    const message = http && (status < 500 || status === 503) ? http.message : 'Nothing was changed. Please try again in a moment.';
    return render(c, null, <ProblemPage site={null} title={title} message={message} />, status);
  });

  const open = (c: Context): TokenCheck => {
    ctx.limits.perIp(clientKey(clientIp(c, ctx.options.proxies)));
    return verifySelfServiceToken(c.req.param('token') ?? '', ctx.sites, ctx.now());
  };
  const denied = (c: Context, check: Exclude<TokenCheck, { ok: true }>) => {
    const expired = check.reason === 'expired';
    // Only an expired link is the site's own for sure (its signature held): only it gets the site's look.
    const site = expired ? (ctx.sites.get(claimedSite(c.req.param('token') ?? '')) ?? null) : null;
    return render(c, site, <DeniedPage site={site} expired={expired} />, 403);
  };
  const person = async (site: Site, userId: string): Promise<ProfileRecord | null> => {
    const id = await ctx.store.findProfileId(site.id, 'user', userId);
    const profile = id ? await ctx.store.getProfile(site.id, id) : null;
    return profile && !profile.mergedInto ? profile : null;
  };
  /** The link's customer and their live profile, or the answer for a link that does not verify or finds no one (`absent`). */
  const customer = async (c: Context, absent: ContentfulStatusCode) => {
    const check = open(c);
    if (!check.ok) return denied(c, check);
    const profile = await person(check.site, check.userId);
    if (!profile) return render(c, check.site, <NothingKeptPage site={check.site} />, absent);
    return { check, profile };
  };
  const base = (c: Context) => `/me/${c.req.param('token')}`;
  const showPage = async (c: Context, check: Extract<TokenCheck, { ok: true }>, profile: ProfileRecord, state: PageState, status: ContentfulStatusCode = 200) =>
    render(c, check.site, <PersonPage view={await personView(ctx, check.site, profile, base(c), check.expiresAt)} state={state} />, status);

  app.get('/', (c) => render(c, null, <DeniedPage site={null} expired={false} />, 403));

  app.get('/:token', async (c) => {
    const found = await customer(c, 200);
    if (found instanceof Response) return found;
    const { check, profile } = found;
    return showPage(c, check, profile, { notice: NOTICES[c.req.query('done') ?? ''] });
  });

  app.post('/:token/traits', async (c) => {
    const found = await customer(c, 404);
    if (found instanceof Response) return found;
    const { check, profile } = found;
    const form = await readForm(c);
    let changes;
    try {
      changes = traitChanges(form, selfServiceOf(check.site).editableTraits, profile.traits);
    } catch (error) {
      if (!(error instanceof FormProblem)) throw error;
      return showPage(c, check, profile, { problem: error, submitted: form, form: 'traits' }, 400);
    }
    if (Object.keys(changes).length === 0) return c.redirect(`${base(c)}?done=unchanged`, 303);
    await changeTraitsBySelfService(ctx, check.site, profile, changes);
    return c.redirect(`${base(c)}?done=traits`, 303);
  });

  app.post('/:token/consent', async (c) => {
    const found = await customer(c, 404);
    if (found instanceof Response) return found;
    const { check, profile } = found;
    const form = await readForm(c);
    let changes;
    try {
      changes = consentChanges(form, profile.computed.consent);
    } catch (error) {
      if (!(error instanceof FormProblem)) throw error;
      return showPage(c, check, profile, { problem: error, form: 'consent' }, 400);
    }
    if (Object.keys(changes).length === 0) return c.redirect(`${base(c)}?done=unchanged`, 303);
    await changeConsentBySelfService(ctx, check.site, profile, changes);
    return c.redirect(`${base(c)}?done=consent`, 303);
  });

  app.get('/:token/export', async (c) => {
    const found = await customer(c, 404);
    if (found instanceof Response) return found;
    const { check, profile } = found;
    const day = new Date(ctx.now()).toISOString().slice(0, 10);
    c.header('Content-Disposition', `attachment; filename="my-data-${day}.json"`);
    return c.json(await profileExport(ctx, profile));
  });

  app.get('/:token/erase', async (c) => {
    const found = await customer(c, 200);
    if (found instanceof Response) return found;
    const { check, profile } = found;
    return render(c, check.site, <ErasePage site={check.site} base={base(c)} counts={await erasureCounts(profile)} />);
  });

  app.post('/:token/erase', async (c) => {
    const found = await customer(c, 404);
    if (found instanceof Response) return found;
    const { check, profile } = found;
    const form = await readForm(c);
    // Only the confirmation page's button erases: a bare POST (a prefetch, a mistaken script) is asked again.
    if (form.get('confirm') !== 'yes') {
      return render(c, check.site, <ErasePage site={check.site} base={base(c)} counts={await erasureCounts(profile)} />, 400);
    }
    const removed = await eraseProfile(ctx, profile);
    return render(c, check.site, <ErasedPage site={check.site} events={removed.events} />);
  });

  const erasureCounts = async (profile: ProfileRecord): Promise<Array<[number, string]>> => {
    const identities = await ctx.store.profileIdentities(profile.siteId, profile.id);
    const traits = Object.keys(profile.traits).length;
    return [
      [traits, traits === 1 ? 'personal detail' : 'personal details'],
      [profile.computed.eventCount, profile.computed.eventCount === 1 ? 'recorded event (visits, clicks, orders)' : 'recorded events (visits, clicks, orders)'],
      [identities.length, identities.length === 1 ? 'id that links your browsers and account' : 'ids that link your browsers and account'],
    ];
  };

  return app;
}

/**
 * The page's Content-Security-Policy: nothing but its own inline stylesheet (by hash), the
 * site's stylesheet from its origin and the site's logo from its origin; no script at all;
 * forms post only here.
 *
 * @example
 * pagePolicy(site); // "default-src 'none'; style-src 'sha256-…' https://cdn.shop.example; img-src https://cdn.shop.example; …"
 */
export function pagePolicy(site: Site | null): string {
  const look = site ? selfServiceOf(site) : null;
  const styles = [PAGE_CSS_SOURCE, look?.cssUrl ? new URL(look.cssUrl).origin : null].filter(Boolean).join(' ');
  const images = look?.logoUrl ? new URL(look.logoUrl).origin : "'none'";
  return `default-src 'none'; style-src ${styles}; img-src ${images}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;
}

/** Sends a page with its doctype and the policy of the site whose look it has. */
async function render(c: Context, site: Site | null, node: unknown, status: ContentfulStatusCode = 200) {
  const body = await (node as { toString(): string | Promise<string> }).toString();
  c.header('Content-Security-Policy', pagePolicy(site));
  return c.html(`<!doctype html>${body}`, status);
}

/** The site a token names, read without trusting it: for the look of the expired page only, after its signature held. */
function claimedSite(token: string): string {
  try {
    const s = (JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')) as { s?: unknown }).s;
    return typeof s === 'string' ? s : '';
  } catch {
    return '';
  }
}

/** A form post of at most `MAX_FORM_BYTES`, as the page's forms send it. */
async function readForm(c: Context): Promise<URLSearchParams> {
  const type = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new HttpError(415, 'The form must be sent as application/x-www-form-urlencoded.');
  const tooLarge = () => new HttpError(413, `The form is larger than ${MAX_FORM_BYTES / 1024} KB.`);
  const declared = Number(c.req.header('content-length'));
  if (Number.isFinite(declared) && declared > MAX_FORM_BYTES) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = c.req.raw.body?.getReader();
  try {
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > MAX_FORM_BYTES) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, 'The form could not be read.');
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
