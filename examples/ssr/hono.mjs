// The same server-rendered page with Hono: the hero slot decided and rendered on the server,
// and Rapport served on the site's own origin at /rp/.
//
//   RAPPORT_URL=http://127.0.0.1:8787 RAPPORT_WRITE_KEY=wk_... RAPPORT_SITE_SECRET=sk_... node examples/ssr/hono.mjs
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { createRapport, rapportProxy, renderSlot, visitorId } from '@rapport/node';

/**
 * The site as a Hono app.
 *
 * @example
 * serve({ fetch: createApp({ rapportUrl, writeKey, secret }).fetch, port: 3000 });
 */
export function createApp({ rapportUrl, writeKey, secret }) {
  const rapport = createRapport({ host: rapportUrl, writeKey, secret });
  const proxy = rapportProxy({ host: rapportUrl, writeKey, secret, path: '/rp' });
  const app = new Hono();
  app.all('/rp/*', (c) => proxy.fetch(c.req.raw, getConnInfo(c).remote.address));
  app.get('/', async (c) => {
    const { anonymousId, setCookie } = visitorId(c.req.header('cookie'), { secure: new URL(c.req.url).protocol === 'https:' });
    const { slots } = await rapport.decide({
      anonymousId,
      slots: ['home-hero'],
      context: { page: { url: c.req.url, referrer: c.req.header('referer') ?? '' }, userAgent: c.req.header('user-agent'), ip: getConnInfo(c).remote.address },
    });
    if (setCookie) c.header('set-cookie', setCookie);
    return c.html(`<!doctype html><html><head><meta charset="utf-8"><title>Home</title>
<script async src="/rp/sdk.js" data-write-key="${writeKey}" data-api-host="/rp"></script></head>
<body>${renderSlot('home-hero', slots['home-hero'], { defaultHtml: '<h1>Welcome</h1>' })}<p>The rest of the page.</p></body></html>`);
  });
  return app;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { RAPPORT_URL, RAPPORT_WRITE_KEY, RAPPORT_SITE_SECRET, PORT = '3000' } = process.env;
  serve({ fetch: createApp({ rapportUrl: RAPPORT_URL, writeKey: RAPPORT_WRITE_KEY, secret: RAPPORT_SITE_SECRET }).fetch, port: Number(PORT), hostname: '127.0.0.1' }, () =>
    console.log(`http://127.0.0.1:${PORT}/ (add this origin to the site's origins in Rapport)`),
  );
}
