// A server-rendered page with Node's own `http`: the hero slot decided and rendered on the
// server (no flicker, no hidden slot), and Rapport served on the site's own origin at /rp/.
//
//   RAPPORT_URL=http://127.0.0.1:8787 RAPPORT_WRITE_KEY=wk_... RAPPORT_SITE_SECRET=sk_... node examples/ssr/node-http.mjs
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRapport, rapportProxy, renderSlot, visitorId } from '@rapport/node';

/**
 * The site as a request handler.
 *
 * @example
 * createServer(createSite({ rapportUrl, writeKey, secret })).listen(3000);
 */
export function createSite({ rapportUrl, writeKey, secret }) {
  const rapport = createRapport({ host: rapportUrl, writeKey, secret });
  const proxy = rapportProxy({ host: rapportUrl, writeKey, secret, path: '/rp' });
  return async (req, res) => {
    if (await proxy.node(req, res)) return;
    if (req.url !== '/' && !req.url.startsWith('/?')) return res.writeHead(404).end('not found');
    const { anonymousId, setCookie } = visitorId(req.headers.cookie, { secure: false });
    const { slots } = await rapport.decide({
      anonymousId,
      slots: ['home-hero'],
      context: { page: { url: `http://${req.headers.host}${req.url}`, referrer: req.headers.referer ?? '' }, userAgent: req.headers['user-agent'], ip: req.socket.remoteAddress },
    });
    const hero = renderSlot('home-hero', slots['home-hero'], { defaultHtml: '<h1>Welcome</h1>' });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...(setCookie ? { 'set-cookie': setCookie } : {}) });
    res.end(`<!doctype html><html><head><meta charset="utf-8"><title>Home</title>
<script async src="/rp/sdk.js" data-write-key="${writeKey}" data-api-host="/rp"></script></head>
<body>${hero}<p>The rest of the page.</p></body></html>`);
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { RAPPORT_URL, RAPPORT_WRITE_KEY, RAPPORT_SITE_SECRET, PORT = '3000' } = process.env;
  createServer(createSite({ rapportUrl: RAPPORT_URL, writeKey: RAPPORT_WRITE_KEY, secret: RAPPORT_SITE_SECRET })).listen(Number(PORT), '127.0.0.1', () =>
    console.log(`http://127.0.0.1:${PORT}/ (add this origin to the site's origins in Rapport)`),
  );
}
