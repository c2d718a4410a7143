import { createHash } from 'node:crypto';
import { Hono, type Context } from 'hono';
import type { JsonObject } from '@rapport/protocol';
import type { AppContext } from '../app-context.js';
import { gif, httpTarget, record, RECORD_WAIT_MS, settleWithin, withinSiteLimit } from '../collect/hit.js';
import { addressFor, limitedVisitor } from '../http/visitor-ip.js';
import type { Site } from '../store/types.js';
import { changeTraits } from './profile-actions.js';
import type { MailLink } from './mail-links.js';

/** What an automation email's open and clicks record on the person it went to. */
export const MAIL_EVENTS = { opened: 'Email Opened', clicked: 'Email Link Clicked' } as const;

/**
 * The public ends of automation emails' links (see `MailLinks`): `/e/u/:token` unsubscribes
 * (a page with a button on GET, since mail scanners follow links; the change itself on POST,
 * which is also the RFC 8058 one-click request of mail clients). Opens and clicks of new mail go
 * to `/v1/p.gif?m=` and `/v1/r?m=` (collect/pixel.ts, collect/redirect.ts); `/e/o/:token` and
 * `/e/c/:token`, where mail sent before pointed, still answer the same way. A token that does
 * not verify changes nothing.
 */
export function mailRoutes(ctx: AppContext) {
  const app = new Hono();
  const links = ctx.automations.links;
  const limited = (c: Context) => limitedVisitor(c, ctx);

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
    const visitor = limited(c);
    const link = await links.read('o', c.req.param('token'));
    const site = link && ctx.sites.get(link.siteId);
    if (link && site && withinSiteLimit(ctx, site)) {
      await recordMailOpen(ctx, site, link, { ip: addressFor(visitor, site), userAgent: c.req.header('user-agent') ?? null });
    }
    return gif(c, 200);
  });

  app.get('/c/:token', async (c) => {
    const visitor = limited(c);
    const link = await links.read('c', c.req.param('token'));
    const site = link && ctx.sites.get(link.siteId);
    // Only where the email itself linked: the destination is part of what is signed.
    const target = link?.url && httpTarget(link.url);
    if (!link || !site || !target) return c.html(<Page title="Link not valid">This link is not valid.</Page>, 404);
    if (withinSiteLimit(ctx, site)) await followMailClick(ctx, site, link, { ip: addressFor(visitor, site), userAgent: c.req.header('user-agent') ?? null });
    return c.redirect(target, 302);
  });

  return app;
}

/** Where a hit came from, for the event it records. */
export interface MailHit {
  ip: string | null;
  userAgent: string | null;
}

/**
 * An automation email was opened: its send is marked (what the automation's report counts) and,
 * when it was a real send, `Email Opened` is recorded on the run's person as a trusted message,
 * once per send (image proxies and previews load the pixel again and again).
 *
 * @example
 * const link = await ctx.automations.links.read('o', token);
 * if (link) await recordMailOpen(ctx, ctx.sites.get(link.siteId)!, link, { ip, userAgent });
 */
export async function recordMailOpen(ctx: AppContext, site: Site, link: MailLink, hit: MailHit): Promise<void> {
  // A test send and a holdout's step have no send: they count for nothing.
  if (!(await ctx.store.automations.markSend(site.id, link.runId, link.position, 'opened', ctx.now()))) return;
  await recordOnPerson(ctx, site, link, hit, MAIL_EVENTS.opened, {}, `email-opened:${link.runId}:${link.position}`);
}

/**
 * A link of an automation email was clicked: its send is marked clicked (and opened) and
 * `Email Link Clicked` is recorded on the run's person with the link's `url`, once per send and
 * link. Never fails and waits at most `RECORD_WAIT_MS`: the visitor is sent on whatever happens.
 *
 * @example
 * await followMailClick(ctx, site, link, { ip, userAgent });
 * return c.redirect(link.url, 302);
 */
export function followMailClick(ctx: AppContext, site: Site, link: MailLink, hit: MailHit): Promise<void> {
  const url = link.url ?? '';
  const work = (async () => {
    if (!(await ctx.store.automations.markSend(site.id, link.runId, link.position, 'clicked', ctx.now()))) return;
    const which = createHash('sha256').update(url).digest('base64url').slice(0, 16);
    await recordOnPerson(ctx, site, link, hit, MAIL_EVENTS.clicked, { url }, `email-clicked:${link.runId}:${link.position}:${which}`);
  })();
  return settleWithin(work, RECORD_WAIT_MS, 'the click of an automation email');
}

/**
 * A trusted track event on the person of a link's run, addressed as the server addresses its own
 * changes (profile-actions.ts): their user id, else one of their anonymous ids. Nothing when the
 * run or its person is gone (erased).
 */
async function recordOnPerson(ctx: AppContext, site: Site, link: MailLink, hit: MailHit, event: string, extra: JsonObject, messageId: string) {
  const run = await ctx.store.automations.getRun(site.id, link.runId);
  const profile = run && (await ctx.store.getProfile(site.id, run.profileId));
  if (!run || !profile || profile.mergedInto) return;
  const anonymousId = profile.userId ? null : (await ctx.store.profileIdentities(site.id, profile.id)).find((i) => i.kind === 'anonymous')?.value;
  if (!profile.userId && !anonymousId) return;
  const context: JsonObject = { source: 'email', library: { name: 'rapport-email' } };
  // A trusted message's device and address come from its context, not from the request.
  if (hit.ip) context.ip = hit.ip;
  if (hit.userAgent) context.userAgent = hit.userAgent;
  const message: JsonObject = {
    type: 'track',
    messageId,
    event,
    ...(profile.userId ? { userId: profile.userId } : { anonymousId: anonymousId! }),
    properties: { automation: run.automationId, run: run.id, position: link.position, ...extra },
    context,
  };
  const outcome = await record(ctx, { site, trusted: true, message, ip: hit.ip, userAgent: hit.userAgent });
  if (outcome.status !== 200) console.error(`rapport: could not record ${event} for run ${run.id}: ${outcome.body.error}`);
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
