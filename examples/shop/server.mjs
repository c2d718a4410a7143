// The demo shop's own web server: a small travel shop on its own origin, the way a customer's
// site would be. It knows nothing of Rapport's internals: it serves pages that carry the one
// script tag, and a tiny JSON backend (catalogue, login, orders). Its only tie to Rapport is the
// site's write key (public, in the pages) and the site's secret (private, here on the server),
// which signs the user id at login: userHash = hex(HMAC-SHA256(secret, userId)). With
// @rapport/node it renders the home page's hero slot itself (no flicker: the offer is in the first
// HTML), and it serves Rapport on its own origin at /rp/ (first-party collection).
//
//   RAPPORT_URL=http://127.0.0.1:8787 RAPPORT_WRITE_KEY=... RAPPORT_SITE_SECRET=... node examples/shop/server.mjs
//
// `npm start` (examples/shop/start.mjs) runs it next to Rapport and fills all of that in.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRapport, rapportProxy, renderSlot, visitorId } from '@rapport/node';

const here = path.dirname(fileURLToPath(import.meta.url));
const PUBLIC_DIR = path.join(here, 'public');
const PARTIALS_DIR = path.join(here, 'partials');
const MAX_BODY_BYTES = 16 * 1024;

/** The coupon of the first-order offer. */
export const FIRST_ORDER_COUPON = { code: 'FIRSTTRIP', percentOff: 10 };
/**
 * The codes of the cart-abandonment email: Rapport's coupon action gives each person one, the
 * prefix and 10 characters (seed.mjs). The shop takes any code of that form; a real shop would
 * check it against the customer's `coupon` trait, or keep its own list. Any other code is refused.
 */
export const CART_COUPON = { prefix: 'CART-', pattern: /^CART-[0-9A-HJKMNP-TV-Z]{10}$/, percentOff: 5 };

/** The pages at a fixed path; categories and products have theirs from the catalogue. */
const PAGES = new Map([
  ['/cart', 'cart.html'],
  ['/checkout', 'checkout.html'],
  ['/thanks', 'thanks.html'],
  ['/login', 'login.html'],
  ['/stories', 'stories.html'],
]);
/** The demo's mailbox: not a page of the shop but of the world outside it, rendered on request. */
const OUTBOX_PAGE = 'outbox.html';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
};

/** `hex(HMAC-SHA256(site secret, userId))`: what Rapport checks before it trusts a user id. */
export const userHashOf = (secret, userId) => createHmac('sha256', secret).update(userId, 'utf8').digest('hex');

/** The catalogue and the demo users, from `data/`. */
export function loadData(dir = path.join(here, 'data')) {
  const catalogue = JSON.parse(readFileSync(path.join(dir, 'products.json'), 'utf8'));
  const { users } = JSON.parse(readFileSync(path.join(dir, 'users.json'), 'utf8'));
  const categories = new Map(catalogue.categories.map((c) => [c.id, c]));
  const products = catalogue.products.map((p) => ({
    ...p,
    sku: p.id.toUpperCase(),
    currency: catalogue.currency,
    url: `/${categories.get(p.category).path}/${p.id}`,
  }));
  return { currency: catalogue.currency, categories: catalogue.categories, products, users };
}

/**
 * The shop as a request handler. `rapportUrl` and `writeKey` go into every page's script tag;
 * `siteSecret` signs user ids at login and never leaves this process. `outbox`, when given,
 * returns the mails of the demo's mail catcher, newest first (mail-catcher.mjs), for `/outbox`;
 * `cartWait` says in words how long the cart-abandonment email takes (the stories page);
 * `decideTimeout` is how long the home page waits for its hero's decision (milliseconds) before
 * it is sent with the default hero.
 *
 * @example
 * const server = createServer(createShop({ rapportUrl, writeKey, siteSecret, outbox: () => catcher.mails() }));
 */
export function createShop({ rapportUrl, writeKey, siteSecret, data = loadData(), outbox, cartWait = 'a minute', decideTimeout = 150 }) {
  if (!rapportUrl || !writeKey || !siteSecret) throw new Error('createShop needs rapportUrl, writeKey and siteSecret');
  const rapport = createRapport({ host: rapportUrl, writeKey, secret: siteSecret, timeout: decideTimeout, onError: (error) => console.warn('shop: rapport:', error.message) });
  const proxy = rapportProxy({ host: rapportUrl, writeKey, secret: siteSecret, path: '/rp' });
  const homeHero = readFileSync(path.join(PARTIALS_DIR, 'home-hero.html'), 'utf8').trim();
  const byId = new Map(data.products.map((p) => [p.id, p]));
  const categoryByPath = new Map(data.categories.map((c) => [c.path, c]));
  const pages = new Map();

  /**
   * A page of public/ with the script tag's placeholders (and the title) filled in, and the
   * header and footer that every page shares taken from partials/.
   */
  const page = async (file, title) => {
    let template = pages.get(file);
    if (template === undefined) {
      const [body, header, footer] = await Promise.all(
        [path.join(PUBLIC_DIR, file), path.join(PARTIALS_DIR, 'header.html'), path.join(PARTIALS_DIR, 'footer.html')].map((f) => readFile(f, 'utf8')),
      );
      template = body.replace('{{HEADER}}', header.trim()).replace('{{FOOTER}}', footer.trim());
      pages.set(file, template);
    }
    const values = { RAPPORT_URL: rapportUrl, WRITE_KEY: writeKey, TITLE: title ?? '', CART_WAIT: cartWait };
    return template.replace(/\{\{(RAPPORT_URL|WRITE_KEY|TITLE|CART_WAIT)\}\}/g, (_, key) => escapeHtml(values[key]));
  };

  /** The outbox page: the caught mails rendered here, every value escaped (after the placeholders, so a mail's text is never read as one). */
  const outboxPage = async () => {
    const template = await page(OUTBOX_PAGE);
    const mails = outbox ? await outbox() : null;
    return template.replace('{{OUTBOX}}', () => renderOutbox(mails, cartWait));
  };

  const api = {
    'GET /api/products': (url) => {
      const category = url.searchParams.get('category');
      const featured = url.searchParams.get('featured') === '1';
      return json(200, {
        currency: data.currency,
        categories: data.categories,
        products: data.products.filter((p) => (!category || p.category === category) && (!featured || p.featured)),
      });
    },
    'POST /api/login': async (url, req) => {
      const body = await readJson(req);
      const user = data.users.find((u) => u.username === String(body.username ?? '').trim().toLowerCase());
      if (!user || !sameText(String(body.password ?? ''), user.password)) return json(401, { error: 'unknown user name or wrong password' });
      // What the page hands to rapport.identify(userId, traits, { userHash }).
      return json(200, { userId: user.userId, traits: user.traits, userHash: userHashOf(siteSecret, user.userId) });
    },
    'POST /api/orders': async (url, req) => order(await readJson(req)),
  };

  /** Prices come from the catalogue, never from the page. Orders are not kept: it is a demo. */
  const order = (body) => {
    const items = Array.isArray(body.items) ? body.items : [];
    if (items.length === 0 || items.length > 50) return json(400, { error: 'items: 1 to 50 cart lines' });
    const lines = [];
    for (const item of items) {
      const product = byId.get(item?.id);
      const quantity = item?.quantity;
      if (!product) return json(400, { error: `items: no product ${String(item?.id).slice(0, 100)}` });
      if (!Number.isInteger(quantity) || quantity < 1 || quantity > 20) return json(400, { error: 'items: quantity must be 1 to 20' });
      lines.push({ product, quantity });
    }
    const subtotal = round2(lines.reduce((sum, l) => sum + l.product.price * l.quantity, 0));
    const code = typeof body.coupon === 'string' ? body.coupon.trim().toUpperCase().slice(0, 40) : '';
    const percentOff = code === FIRST_ORDER_COUPON.code ? FIRST_ORDER_COUPON.percentOff : CART_COUPON.pattern.test(code) ? CART_COUPON.percentOff : 0;
    const coupon = percentOff ? code : null;
    const discount = coupon ? round2((subtotal * percentOff) / 100) : 0;
    const total = round2(subtotal - discount);
    return json(201, {
      order_id: `FW-${Date.now().toString(36).toUpperCase()}-${randomBytes(3).toString('hex').toUpperCase()}`,
      currency: data.currency,
      subtotal,
      discount,
      coupon,
      couponDenied: code !== '' && !coupon ? code : null,
      // Segment's e-commerce spec: revenue excludes shipping and tax, total includes them; the
      // shop has neither, so the two are equal.
      revenue: total,
      total,
      products: lines.map(({ product: p, quantity }, i) => ({
        product_id: p.id,
        sku: p.sku,
        name: p.name,
        category: p.category,
        price: p.price,
        quantity,
        position: i + 1,
        url: p.url,
        image_url: p.image,
        tags: p.tags,
      })),
    });
  };

  /**
   * The home page with its hero decided here, for the visitor of the SDK's cookie (a new one gets
   * an id, and the cookie that keeps it); with the site secret the decision sees the visitor's
   * page, referrer, device and address as the browser's own call would.
   */
  const home = async (req) => {
    const secure = req.socket.encrypted === true || req.headers['x-forwarded-proto'] === 'https';
    const { anonymousId, setCookie } = visitorId(req.headers.cookie, { secure });
    const pageUrl = `${secure ? 'https' : 'http'}://${req.headers.host ?? 'shop.invalid'}${req.url ?? '/'}`;
    const { slots } = await rapport.decide({
      anonymousId,
      slots: ['home-hero'],
      context: {
        page: { url: pageUrl, path: '/', referrer: req.headers.referer ?? '' },
        userAgent: req.headers['user-agent'],
        locale: req.headers['accept-language']?.split(',')[0],
        ip: req.socket.remoteAddress,
      },
    });
    const hero = renderSlot('home-hero', slots['home-hero'], { defaultHtml: homeHero, tag: 'section', attributes: { class: 'hero' } });
    const answer = html(200, (await page('index.html')).replace('{{HOME_HERO}}', () => hero));
    if (setCookie) answer.headers['set-cookie'] = setCookie;
    return answer;
  };

  /** Pages by path: the fixed ones, a list per category, a page per product, and the rest. */
  const route = async (pathname, req) => {
    if (pathname === '/') return home(req);
    if (PAGES.has(pathname)) return html(200, await page(PAGES.get(pathname)));
    if (pathname === '/outbox') return html(200, await outboxPage());
    const [, first, second, extra] = pathname.split('/');
    const category = categoryByPath.get(first);
    if (category && second === undefined) return html(200, await page('category.html', category.name));
    const product = category && second ? byId.get(second) : undefined;
    if (product && product.category === category.id && extra === undefined) return html(200, await page('product.html', product.name));
    return null;
  };

  return async function handle(req, res) {
    try {
      // Rapport's SDK and collect API on the shop's own origin: /rp/sdk.js, /rp/v1/*.
      if (await proxy.node(req, res)) return;
      const url = new URL(req.url ?? '/', 'http://shop.invalid');
      const pathname = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : '/';
      const productMatch = /^\/api\/products\/([^/]+)$/.exec(pathname);
      let answer;
      if (productMatch && req.method === 'GET') {
        const product = byId.get(decodePath(productMatch[1]));
        answer = product ? json(200, { product, category: data.categories.find((c) => c.id === product.category) }) : json(404, { error: 'no such product' });
      } else if (pathname.startsWith('/api/')) {
        const handler = api[`${req.method} ${pathname}`];
        answer = handler ? await handler(url, req) : json(404, { error: `no route for ${req.method} ${pathname}` });
      } else if (req.method === 'GET' || req.method === 'HEAD') {
        answer = (await route(pathname, req)) ?? (await asset(pathname)) ?? html(404, await page('404.html'));
      } else {
        answer = json(405, { error: 'method not allowed' });
      }
      send(res, answer, req.method === 'HEAD');
    } catch (error) {
      const status = error instanceof BadRequest ? 400 : 500;
      if (status === 500) console.error('shop:', error);
      send(res, json(status, { error: status === 400 ? error.message : 'internal error' }));
    }
  };
}

/**
 * Starts the shop on a port (0 for a free one) and resolves once it listens.
 *
 * @example
 * const shop = await startShop({ port: 8788, host: '127.0.0.1', rapportUrl, writeKey, siteSecret });
 * console.log(shop.url); // http://127.0.0.1:8788
 */
export async function startShop({ port = 8788, host = '127.0.0.1', ...options }) {
  const server = createServer(createShop(options));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = server.address().port;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${actual}`,
    port: actual,
    server,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The caught mails as HTML, newest first: who they went to, when, the subject, the text part, and
 * the HTML part in a sandboxed frame (no scripts, an origin of its own: the mail never runs in the
 * shop's page), its links opening in a new tab, as a mail client's would.
 */
function renderOutbox(mails, cartWait) {
  if (mails === null) {
    return '<p class="panel muted" data-outbox-off>This shop runs without the demo\'s mail catcher (<code>npm start</code> starts one), so there is no mail to show.</p>';
  }
  if (mails.length === 0) {
    return `<p class="panel muted" data-outbox-empty>No mail yet. Log in, put a trip in your cart and leave it: an email with a coupon arrives here ${escapeHtml(cartWait)} later (<a href="/stories#cart">story 4</a>).</p>`;
  }
  return mails
    .map((mail) => {
      const to = mail.envelope?.to?.length ? mail.envelope.to.join(', ') : mail.to;
      const at = new Date(mail.receivedAt);
      const frame = mail.html
        ? `<iframe class="mail-html" title="The email as a mail client shows it" sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc="${escapeHtml(mailDocument(mail.html))}"></iframe>`
        : '<p class="muted">No HTML part.</p>';
      return `<article class="panel mail" data-mail="${escapeHtml(mail.id)}">
  <h2 class="mail-subject" data-mail-subject>${escapeHtml(mail.subject || '(no subject)')}</h2>
  <dl class="mail-meta">
    <dt>To</dt><dd data-mail-to>${escapeHtml(to)}</dd>
    <dt>From</dt><dd>${escapeHtml(mail.from)}</dd>
    <dt>Received</dt><dd><time datetime="${escapeHtml(mail.receivedAt)}">${escapeHtml(at.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'medium' }))}</time></dd>
  </dl>
  <div class="mail-parts">
    <section><h3>HTML</h3>${frame}</section>
    <section><h3>Text</h3><pre class="mail-text" data-mail-text>${escapeHtml(mail.text)}</pre></section>
  </div>
</article>`;
    })
    .join('\n');
}

/** The HTML part as the frame's document: the shop's font, and links that open a tab of their own. */
const mailDocument = (html) =>
  '<!doctype html><meta charset="utf-8"><base target="_blank">' +
  '<style>body{font:15px/1.5 system-ui,sans-serif;color:#1d2430;margin:14px}a{color:#0f6e66}</style>' +
  html;

/** Files of public/ that are not pages: styles, script, images. */
async function asset(pathname) {
  const ext = path.extname(pathname);
  if (ext === '.html' || !TYPES[ext]) return pathname === '/favicon.ico' ? { status: 204, headers: {}, body: '' } : null;
  const decoded = decodePath(pathname);
  if (decoded === null) return null;
  const file = path.join(PUBLIC_DIR, path.normalize(decoded));
  if (!file.startsWith(PUBLIC_DIR + path.sep)) return null;
  try {
    return { status: 200, headers: { 'content-type': TYPES[ext], 'cache-control': 'no-cache' }, body: await readFile(file) };
  } catch {
    return null;
  }
}

/** A percent-encoded path segment decoded, or null when its encoding is broken (`%E0%A4%A`): a 404, not a 500. */
function decodePath(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

class BadRequest extends Error {}

async function readJson(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest('the body is too large');
    chunks.push(chunk);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch {}
  throw new BadRequest('the body must be a JSON object');
}

const json = (status, value) => ({
  status,
  headers: { 'content-type': TYPES['.json'], 'cache-control': 'no-store' },
  body: JSON.stringify(value),
});
const html = (status, body) => ({ status, headers: { 'content-type': TYPES['.html'], 'cache-control': 'no-store' }, body });

function send(res, { status, headers, body }, head = false) {
  res.writeHead(status, { 'x-content-type-options': 'nosniff', ...headers });
  res.end(head ? undefined : body);
}

const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

const round2 = (n) => Math.round(n * 100) / 100;

/** Compares a typed password in constant time (hashing both sides first makes their lengths equal). */
function sameText(given, expected) {
  const a = createHmac('sha256', 'compare').update(given).digest();
  const b = createHmac('sha256', 'compare').update(expected).digest();
  return timingSafeEqual(a, b);
}

// Run directly: a shop in front of any Rapport server.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const env = process.env;
  const missing = ['RAPPORT_URL', 'RAPPORT_WRITE_KEY', 'RAPPORT_SITE_SECRET'].filter((k) => !env[k]);
  if (missing.length) {
    console.error(`shop: set ${missing.join(', ')} (or run \`npm start\`, which starts Rapport and the shop together)`);
    process.exit(2);
  }
  const shop = await startShop({
    port: Number(env.SHOP_PORT ?? 8788),
    host: env.SHOP_HOST ?? '127.0.0.1',
    rapportUrl: env.RAPPORT_URL.replace(/\/+$/, ''),
    writeKey: env.RAPPORT_WRITE_KEY,
    siteSecret: env.RAPPORT_SITE_SECRET,
  });
  console.log(`Demo shop at ${shop.url}/ (add this origin to the site's allowed origins in Rapport)`);
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => shop.close().then(() => process.exit(0)));
}
