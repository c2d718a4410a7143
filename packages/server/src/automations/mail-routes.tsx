import { Hono, type Context } from 'hono';
import type { AppContext } from '../app-context.js';
import { clientIp, clientKey } from '../http/client-ip.js';
import { changeTraits } from './profile-actions.js';
import type { MailLink } from './mail-links.js';

/** A transparent 1×1 GIF: the open pixel. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/**
 * The public ends of automation emails' links (see `MailLinks`): `/e/u/:token` unsubscribes
 * (a page with a button on GET, since mail scanners follow links; the change itself on POST,
 * which is also the RFC 8058 one-click request of mail clients), `/e/o/:token` is the open
 * pixel and `/e/c/:token` the click redirect. A token that does not verify changes nothing.
 */
export function mailRoutes(ctx: AppContext) {
  const app = new Hono();
  const links = ctx.automations.links;
  const limited = (c: Context) => ctx.limits.perIp(clientKey(clientIp(c, ctx.options.proxies)));

  app.get('/u/:token', async (c) => {
    limited(c);
    const link = await links.read('u', c.req.param('token'));
    const site = link && ctx.sites.get(link.siteId);
    if (!link || !site) return c.html(<Page title="Link not valid">This unsubscribe link is not valid.</Page>, 404);
    return c.html(
      <Page title={`Unsubscribe from ${site.name}`}>
        <p>You will get no more emails from {site.name}'s automations.</p>
        <form method="post">
          <button type="submit">Unsubscribe</button>
        </form>
      </Page>,
    );
  });

  app.post('/u/:token', async (c) => {
    limited(c);
    const link = await links.read('u', c.req.param('token'));
    const site = link && ctx.sites.get(link.siteId);
    if (!link || !site) return c.html(<Page title="Link not valid">This unsubscribe link is not valid.</Page>, 404);
    await unsubscribe(ctx, link);
    return c.html(<Page title="Unsubscribed">You are unsubscribed from {site.name}'s emails.</Page>);
  });

  app.get('/o/:token', async (c) => {
    limited(c);
    const link = await links.read('o', c.req.param('token'));
    if (link) await ctx.store.automations.markSend(link.siteId, link.runId, link.position, 'opened', ctx.now());
    return c.body(PIXEL, 200, { 'Content-Type': 'image/gif', 'Cache-Control': 'no-store' });
  });

  app.get('/c/:token', async (c) => {
    limited(c);
    const link = await links.read('c', c.req.param('token'));
    // Only where the email itself linked: the destination is part of what is signed.
    if (!link?.url || !/^https?:\/\//i.test(link.url)) return c.html(<Page title="Link not valid">This link is not valid.</Page>, 404);
    await ctx.store.automations.markSend(link.siteId, link.runId, link.position, 'clicked', ctx.now());
    return c.redirect(link.url, 302);
  });

  return app;
}

/** The person the email went to says no more: a trusted change of their traits, once per email. */
async function unsubscribe(ctx: AppContext, link: MailLink) {
  const site = ctx.sites.get(link.siteId)!;
  const run = await ctx.store.automations.getRun(link.siteId, link.runId);
  // An erased person has nothing left to unsubscribe.
  const profile = run && (await ctx.store.getProfile(site.id, run.profileId));
  if (!run || !profile || profile.mergedInto) return;
  await changeTraits({ ingester: ctx.ingester, site: (id) => ctx.sites.get(id), identities: (s, p) => ctx.store.profileIdentities(s, p) }, site, profile, { unsubscribed: true }, {
    messageId: `unsubscribe:${run.id}`,
    at: ctx.now(),
    meta: { automation: run.automationId, run: run.id, via: 'email link' },
  });
}

function Page(props: { title: string; children: unknown }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{props.title}</title>
        <style>{'body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}button{font:inherit;padding:.5rem 1rem}'}</style>
      </head>
      <body>
        <h1>{props.title}</h1>
        {props.children}
      </body>
    </html>
  );
}
