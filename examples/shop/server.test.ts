// The shop's own server, without a browser or Rapport: pages, catalogue, login and orders.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyUserHash } from '../../packages/server/src/identity/verify';
// @ts-expect-error: plain .mjs without type declarations.
import { startShop } from './server.mjs';

const secret = 'site-secret-for-tests';
let shop: { url: string; close(): Promise<void> };

beforeAll(async () => {
  shop = await startShop({ port: 0, rapportUrl: 'http://rapport.test:8787', writeKey: 'wk_<test>"', siteSecret: secret });
});
afterAll(() => shop.close());

const post = (path: string, body: unknown) =>
  fetch(shop.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('the shop server', () => {
  it('serves pages with the script tag filled in, escaped', async () => {
    const res = await fetch(`${shop.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toContain(
      '<script async src="http://rapport.test:8787/sdk.js" data-write-key="wk_&lt;test&gt;&quot;"></script>',
    );
  });

  it('has a page per category and per product, and a 404 for the rest', async () => {
    expect(await (await fetch(`${shop.url}/hotels`)).text()).toContain('<title>Hotels · Far &amp; Wide</title>');
    const product = await (await fetch(`${shop.url}/trips/patagonia-trek`)).text();
    expect(product).toContain('<h1>Patagonia trek, 12 days</h1>');
    expect(product).toContain('data-rapport-slot="product-extra"');
    for (const path of ['/hotels/patagonia-trek', '/trips/nope', '/trips/patagonia-trek/x', '/nope', '/index.html', '/../data/users.json', '/img/..%2f..%2fdata%2fusers.json', '/img/%E0%A4%A.svg']) {
      expect((await fetch(shop.url + path)).status, path).toBe(404);
    }
    expect((await fetch(`${shop.url}/shop.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('lists the catalogue, by category and featured', async () => {
    const all = await (await fetch(`${shop.url}/api/products`)).json();
    expect(new Set(all.products.map((p: { category: string }) => p.category))).toEqual(new Set(['trip', 'insurance', 'hotel', 'accessory']));
    const hotels = await (await fetch(`${shop.url}/api/products?category=hotel`)).json();
    expect(hotels.products.every((p: { url: string }) => p.url.startsWith('/hotels/'))).toBe(true);
    const { product } = await (await fetch(`${shop.url}/api/products/extreme-sports-cover`)).json();
    expect(product).toMatchObject({ sku: 'EXTREME-SPORTS-COVER', price: 89, currency: 'EUR', url: '/insurance/extreme-sports-cover' });
  });

  it('logs a demo customer in with a user hash that Rapport verifies', async () => {
    const res = await post('/api/login', { username: ' Lena ', password: 'demo' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ userId: 'cust_1001', traits: { firstName: 'Lena', email: 'lena@example.com' } });
    expect(verifyUserHash(secret, 'cust_1001', body.userHash)).toBe(true);
    expect((await post('/api/login', { username: 'lena', password: 'nope' })).status).toBe(401);
    expect((await post('/api/login', { username: 'nobody', password: 'demo' })).status).toBe(401);
  });

  it('prices orders from the catalogue and applies the first-order coupon', async () => {
    const res = await post('/api/orders', { items: [{ id: 'patagonia-trek', quantity: 1 }, { id: 'headlamp', quantity: 2 }], coupon: ' firsttrip ' });
    expect(res.status).toBe(201);
    const order = await res.json();
    expect(order).toMatchObject({ subtotal: 1960, discount: 196, coupon: 'FIRSTTRIP', couponDenied: null, total: 1764, revenue: 1764, currency: 'EUR' });
    expect(order.order_id).toMatch(/^FW-/);
    expect(order.products).toEqual([
      expect.objectContaining({ product_id: 'patagonia-trek', price: 1890, quantity: 1, position: 1, category: 'trip' }),
      expect.objectContaining({ product_id: 'headlamp', price: 35, quantity: 2, position: 2, category: 'accessory' }),
    ]);
    const denied = await (await post('/api/orders', { items: [{ id: 'headlamp', quantity: 1 }], coupon: 'FREE' })).json();
    expect(denied).toMatchObject({ discount: 0, coupon: null, couponDenied: 'FREE', total: 35 });
  });

  it('takes 5% off with a code of the cart-abandonment email, and refuses codes not of its form', async () => {
    const cart = await (await post('/api/orders', { items: [{ id: 'headlamp', quantity: 2 }], coupon: 'cart-7qk2m9xh4d' })).json();
    expect(cart).toMatchObject({ subtotal: 70, discount: 3.5, coupon: 'CART-7QK2M9XH4D', couponDenied: null, total: 66.5 });
    // 9 characters, and an I (not in the codes' alphabet): refused.
    for (const code of ['CART-7QK2M9XH4', 'CART-7QK2M9XH4I', 'CART-7QK2M9XH4DD']) {
      expect(await (await post('/api/orders', { items: [{ id: 'headlamp', quantity: 1 }], coupon: code })).json(), code).toMatchObject({ discount: 0, couponDenied: code });
    }
  });

  it('refuses bad orders and bodies with a JSON error', async () => {
    for (const body of [{}, { items: [] }, { items: [{ id: 'nope', quantity: 1 }] }, { items: [{ id: 'headlamp', quantity: 0 }] }, { items: [{ id: 'headlamp', quantity: 1.5 }] }]) {
      const res = await post('/api/orders', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await res.json()).toHaveProperty('error');
    }
    const notJson = await fetch(`${shop.url}/api/orders`, { method: 'POST', body: 'items' });
    expect(notJson.status).toBe(400);
    const huge = await fetch(`${shop.url}/api/login`, { method: 'POST', body: JSON.stringify({ username: 'x'.repeat(20_000) }) });
    expect(huge.status).toBe(400);
    expect((await fetch(`${shop.url}/api/nope`)).status).toBe(404);
    // A broken percent-encoding is an unknown product, not a server error.
    expect((await fetch(`${shop.url}/api/products/%E0%A4%A`)).status).toBe(404);
  });
});

describe('the outbox page', () => {
  const mail = {
    id: 7,
    receivedAt: '2026-05-04T10:11:12.000Z',
    envelope: { from: 'hello@farandwide.example', to: ['tom@example.com'] },
    from: '"Far & Wide" <hello@farandwide.example>',
    to: 'tom@example.com',
    subject: 'Hi "Tom" <b>{{TITLE}}</b>',
    text: 'Code CART-7QK2M9XH4D </pre><script>alert(1)</script>',
    html: '<p onclick="x()">Hi</p><script>parent.document.body.remove()</script><a href="http://r.test/e/c/abc?a=1&amp;b=2">Cart</a>',
  };
  let withMail: { url: string; close(): Promise<void> };
  let mails: unknown[] = [];
  beforeAll(async () => {
    withMail = await startShop({ port: 0, rapportUrl: 'http://rapport.test:8787', writeKey: 'wk_x', siteSecret: secret, outbox: () => mails, cartWait: '3 seconds' });
  });
  afterAll(() => withMail.close());

  it('says how to get a mail while there is none, and that there is no catcher when the shop runs alone', async () => {
    mails = [];
    const empty = await (await fetch(`${withMail.url}/outbox`)).text();
    expect(empty).toContain('data-outbox-empty');
    expect(empty).toContain('arrives here 3 seconds later');
    expect(empty).not.toContain('<script');
    expect(await (await fetch(`${shop.url}/outbox`)).text()).toContain('data-outbox-off');
    expect(await (await fetch(`${shop.url}/stories`)).text()).toContain('About a minute later');
    expect(await (await fetch(`${withMail.url}/stories`)).text()).toContain('About 3 seconds later');
  });

  it('shows each mail escaped, its HTML part only inside a sandboxed frame', async () => {
    mails = [mail];
    const res = await fetch(`${withMail.url}/outbox`);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('<dd data-mail-to>tom@example.com</dd>');
    expect(page).toContain('<h2 class="mail-subject" data-mail-subject>Hi &quot;Tom&quot; &lt;b&gt;{{TITLE}}&lt;/b&gt;</h2>');
    expect(page).toContain('Code CART-7QK2M9XH4D &lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;</pre>');
    expect(page).toContain('<time datetime="2026-05-04T10:11:12.000Z">');
    // No tag of the mail is a tag of the page: all of it sits escaped in the frame's srcdoc.
    expect(page).not.toMatch(/<script|<p onclick|<a href="http:\/\/r\.test/);
    const frame = /<iframe [^>]*sandbox="([^"]*)" srcdoc="([^"]*)"><\/iframe>/.exec(page);
    expect(frame?.[1]).toBe('allow-popups allow-popups-to-escape-sandbox');
    expect(frame?.[2]).toContain('&lt;script&gt;parent.document.body.remove()&lt;/script&gt;');
    expect(frame?.[2]).toContain('href=&quot;http://r.test/e/c/abc?a=1&amp;amp;b=2&quot;');
    expect(frame?.[2]).toContain('&lt;base target=&quot;_blank&quot;&gt;');
  });
});
